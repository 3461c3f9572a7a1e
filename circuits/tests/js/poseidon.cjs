// circomlibjs's Poseidon of each input list: argv[2] the circomlibjs package
// directory, argv[3] a JSON array of arrays of decimal field elements.
// Prints a JSON array of decimal hashes.
const { buildPoseidon } = require(process.argv[2]);
(async () => {
  const poseidon = await buildPoseidon();
  const cases = JSON.parse(process.argv[3]);
  const out = cases.map((xs) => poseidon.F.toString(poseidon(xs.map(BigInt))));
  console.log(JSON.stringify(out));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// The generated Groth16 verifiers (circuits/src/groth16/solidity.rs).
interface IGroth16Verifier {
    function verifyProof(uint256[8] calldata proof, uint256[] calldata input) external view returns (bool);
}

/// Veilgate's ledger on an EVM chain (FISCO BCOS 3.x, Besu, GoQuorum):
/// an append-only, hash-chained log of envelopes, the consortium's policy
/// registry and its revocations.
///
/// Envelope bytes travel in the `Appended` event (8 gas a byte instead of
/// 20,000 a word of storage); storage keeps what must be checked on chain:
/// each id's envelope hash (exactly once: the same id with the same bytes is
/// skipped, with other bytes the batch reverts), each entry's hash and block.
/// The entry hash is the embedded ledger's, computed with the SHA-256
/// precompile, so one chain check serves both:
/// `SHA-256("veilgate/ledger-entry/v1" ‖ u64 seq ‖ prev ‖ id ‖ SHA-256(envelope))`.
///
/// A policy published with on-chain checks (`require proofs on chain`) has
/// its Groth16 predicates verified here, by the chain's validators, before an
/// envelope of that policy is recorded: `append` refuses such envelopes and
/// `appendVerified` reads the public inputs out of the envelope's own bytes
/// (docs/envelope.md), takes the proofs in EVM word order and calls the
/// generated verifier of each circuit. The chain checks the statements about
/// the envelope's commitments; peers still check every byte off chain.
///
/// A set root entry (`VGSR`, docs/sets.md) is appended like any entry and
/// also kept in storage — its root per set and version, and each set's
/// latest version — with a `SetRootPublished` event; the chain takes a set's
/// versions in order (1, 2, …) under the entry's own id. Who may publish
/// which set (a directory role) and the publisher's signature are checked
/// off chain by every peer.
contract VeilgateRegistry {
    bytes constant ENTRY_DOMAIN = "veilgate/ledger-entry/v1";
    bytes constant SET_ROOT_ID_DOMAIN = "veilgate/set-root-id/v1";

    /// The consortium operator: admits writers, publishes policies, revokes.
    address public immutable admin;
    /// Gateways allowed to append.
    mapping(address => bool) public writers;

    uint64 public count;
    bytes32 public head;
    mapping(bytes16 => uint64) private seqPlusOne;
    mapping(bytes16 => bytes32) public envelopeHashOf;
    mapping(uint64 => bytes32) public entryHashOf;
    /// Block of each entry, so a reader fetches its event from one block.
    mapping(uint64 => uint64) public blockOf;

    /// Policy texts by canonical plan hash (peers recompile and check it).
    mapping(bytes32 => uint64) public policyBlockOf;
    mapping(bytes32 => bool) public revoked;
    /// keccak256 of each policy's on-chain checks (zero: none required).
    mapping(bytes32 => bytes32) public checksOf;

    /// Set roots by keccak256 of the set's name, then version.
    mapping(bytes32 => mapping(uint32 => bytes32)) public setRootOf;
    /// Each set's latest version on the chain (0: none).
    mapping(bytes32 => uint32) public setVersionOf;

    event Appended(uint64 indexed sequence, bytes16 indexed id, bytes32 entryHash, bytes envelope);
    event WriterSet(address indexed writer, bool allowed);
    event PolicyPublished(bytes32 indexed hash, string id, uint32 version, string text, bytes checks);
    event Revoked(bytes32 indexed subject, string reason);
    event SetRootPublished(
        bytes32 indexed setKey, string set, uint32 version, bytes32 root, uint64 validFromMs, uint64 sequence
    );

    error NotAdmin();
    error NotWriter();
    error LengthMismatch();
    error Conflict(bytes16 id);
    /// The bytes start like an envelope but do not parse (at this offset).
    error BadEnvelope(uint256 offset);
    /// The id given for an envelope is not the id it carries.
    error IdMismatch(bytes16 id);
    /// The envelope's policy requires on-chain checks: use `appendVerified`.
    error NeedsProofs(bytes16 id);
    /// The checks passed are not the ones published for the envelope's policy.
    error WrongChecks(bytes16 id);
    /// Predicate `predicate` (0-based, plan order) of envelope `id` did not verify.
    error ProofRejected(bytes16 id, uint256 predicate);
    /// A set root entry under another id than its own, or out of version order.
    error BadSetRoot(bytes16 id);

    constructor() {
        admin = msg.sender;
        writers[msg.sender] = true;
        emit WriterSet(msg.sender, true);
    }

    modifier onlyAdmin() {
        if (msg.sender != admin) revert NotAdmin();
        _;
    }

    function setWriter(address writer, bool allowed) external onlyAdmin {
        writers[writer] = allowed;
        emit WriterSet(writer, allowed);
    }

    /// Appends a batch in order. Ids already present with the same bytes are
    /// skipped; an id present with other bytes reverts the whole batch. Bytes
    /// that are an envelope (`VGEN`) must carry the id given, and their policy
    /// must not require on-chain checks.
    function append(bytes16[] calldata ids, bytes[] calldata envelopes) external {
        if (!writers[msg.sender]) revert NotWriter();
        if (ids.length != envelopes.length) revert LengthMismatch();
        uint64 n = count;
        bytes32 prev = head;
        for (uint256 i = 0; i < ids.length; i++) {
            bytes calldata env = envelopes[i];
            if (_isEnvelope(env)) {
                (bytes16 carried, bytes32 policy,) = _header(env);
                if (carried != ids[i]) revert IdMismatch(ids[i]);
                if (checksOf[policy] != 0) revert NeedsProofs(ids[i]);
            }
            (n, prev) = _record(ids[i], env, n, prev);
        }
        count = n;
        head = prev;
    }

    /// Appends envelopes whose policies require on-chain checks, after
    /// verifying them: `checks[i]` are the checks published for the policy
    /// envelope `i` names, `proofs[i]` its Groth16 proofs, 8 words each, in
    /// predicate order. Any failure reverts the whole batch.
    function appendVerified(bytes[] calldata envelopes, bytes[] calldata checks, uint256[][] calldata proofs)
        external
    {
        if (!writers[msg.sender]) revert NotWriter();
        if (envelopes.length != checks.length || envelopes.length != proofs.length) revert LengthMismatch();
        uint64 n = count;
        bytes32 prev = head;
        for (uint256 i = 0; i < envelopes.length; i++) {
            (n, prev) = _appendVerified(envelopes[i], checks[i], proofs[i], n, prev);
        }
        count = n;
        head = prev;
    }

    function _appendVerified(
        bytes calldata env,
        bytes calldata checks,
        uint256[] calldata proofs,
        uint64 n,
        bytes32 prev
    ) private returns (uint64, bytes32) {
        return _record(_verifyOnce(env, checks, proofs), env, n, prev);
    }

    /// The envelope's id, after verifying it unless it is already recorded
    /// (a retry is then skipped, or a conflict, in `_record`).
    function _verifyOnce(bytes calldata env, bytes calldata checks, uint256[] calldata proofs)
        private
        view
        returns (bytes16 id)
    {
        if (!_isEnvelope(env)) revert BadEnvelope(0);
        bytes32 policy;
        (id, policy,) = _header(env);
        if (seqPlusOne[id] != 0) return id;
        bytes32 want = checksOf[policy];
        if (want == 0 || keccak256(checks) != want) revert WrongChecks(id);
        _verify(env, checks, proofs);
    }

    function _record(bytes16 id, bytes calldata env, uint64 n, bytes32 prev) private returns (uint64, bytes32) {
        bytes32 h = sha256(env);
        if (seqPlusOne[id] != 0) {
            if (envelopeHashOf[id] != h) revert Conflict(id);
            return (n, prev);
        }
        bytes32 e = sha256(abi.encodePacked(ENTRY_DOMAIN, n, prev, id, h));
        seqPlusOne[id] = n + 1;
        envelopeHashOf[id] = h;
        entryHashOf[n] = e;
        blockOf[n] = uint64(block.number);
        emit Appended(n, id, e, env);
        if (_isSetRoot(env)) _noteSetRoot(id, env, n);
        return (n + 1, e);
    }

    function _isSetRoot(bytes calldata env) private pure returns (bool) {
        return env.length >= 6 && bytes4(env[0:4]) == bytes4("VGSR");
    }

    /// Keeps a set root entry's root: `magic ‖ u8 format ‖ u8 suite ‖ str16
    /// ledger ‖ str16 set ‖ u32 version ‖ u8 depth ‖ root ‖ u32 members ‖ u64
    /// valid from ‖ …`. Its id must be `SHA-256(domain ‖ the bytes from the
    /// ledger through the version)[0..16]`, and its version the next.
    function _noteSetRoot(bytes16 id, bytes calldata env, uint64 n) private {
        uint256 s = _skip16(env, 6); // the set name's length prefix
        uint256 v = _skip16(env, s); // the version
        if (bytes16(sha256(abi.encodePacked(SET_ROOT_ID_DOMAIN, env[6:v + 4]))) != id) revert BadSetRoot(id);
        string memory name = string(env[s + 2:v]);
        bytes32 key = keccak256(bytes(name));
        uint32 version = uint32(bytes4(env[v:v + 4]));
        if (version != setVersionOf[key] + 1) revert BadSetRoot(id);
        bytes32 root = bytes32(env[v + 5:v + 37]);
        uint64 validFrom = uint64(bytes8(env[v + 41:v + 49]));
        setRootOf[key][version] = root;
        setVersionOf[key] = version;
        emit SetRootPublished(key, name, version, root, validFrom, n);
    }

    // ---- Envelope parsing (docs/envelope.md); calldata slices revert out of bounds.

    function _isEnvelope(bytes calldata env) private pure returns (bool) {
        return env.length >= 6 && bytes4(env[0:4]) == bytes4("VGEN");
    }

    function _u16(bytes calldata b, uint256 p) private pure returns (uint256) {
        return uint16(bytes2(b[p:p + 2]));
    }

    function _u32(bytes calldata b, uint256 p) private pure returns (uint256) {
        return uint32(bytes4(b[p:p + 4]));
    }

    /// Past a `str16`/`bytes16` (u16 length, bytes).
    function _skip16(bytes calldata b, uint256 p) private pure returns (uint256) {
        uint256 q = p + 2 + _u16(b, p);
        if (q > b.length) revert BadEnvelope(p);
        return q;
    }

    /// Past a `bytes32` (u32 length, bytes).
    function _skip32(bytes calldata b, uint256 p) private pure returns (uint256) {
        uint256 q = p + 4 + _u32(b, p);
        if (q > b.length) revert BadEnvelope(p);
        return q;
    }

    /// The envelope id, the policy hash and the offset of the recipient count.
    function _header(bytes calldata env) private pure returns (bytes16 id, bytes32 policy, uint256 p) {
        p = _skip16(env, 6); // after magic, version, suite: the ledger id
        id = bytes16(env[p:p + 16]);
        p = _skip16(env, p + 16) + 4; // policy id, policy version
        policy = bytes32(env[p:p + 32]);
        p = _skip16(env, p + 32) + 8; // submitter, timestamp
        p = _skip16(env, p); // idempotency key
    }

    /// Each field's kind and the offset of its body, from the recipient count on.
    function _fields(bytes calldata env, uint256 p)
        private
        pure
        returns (uint8[] memory kinds, uint256[] memory bodies)
    {
        uint256 nr = _u16(env, p);
        p += 2;
        for (uint256 r = 0; r < nr; r++) {
            p = _skip16(env, _skip16(env, _skip16(env, p)));
        }
        uint256 nf = _u16(env, p);
        p += 2;
        kinds = new uint8[](nf);
        bodies = new uint256[](nf);
        for (uint256 f = 0; f < nf; f++) {
            p = _skip16(env, p);
            uint8 kind = uint8(env[p]);
            p += 1;
            kinds[f] = kind;
            bodies[f] = p;
            if (kind == 0 || kind == 4) {
                p = _skip32(env, p);
            } else if (kind == 1 || kind == 5) {
                p += 32;
            } else if (kind == 2) {
                p += 32;
                if (uint8(env[p]) == 1) p = _skip32(env, p + 1);
                else p += 1;
            } else if (kind != 3) {
                revert BadEnvelope(p - 1);
            }
            uint256 nc = _u16(env, p);
            p += 2;
            for (uint256 c = 0; c < nc; c++) {
                p = _skip32(env, p + 2);
            }
        }
    }

    /// `YYYYMMDD` of a public date (canonical value: tag 4, `YYYY-MM-DD`).
    function _date(bytes calldata env, uint256 p) private pure returns (uint256 d) {
        if (_u32(env, p) != 11 || uint8(env[p + 4]) != 4) revert BadEnvelope(p);
        for (uint256 i = 0; i < 10; i++) {
            uint8 c = uint8(env[p + 5 + i]);
            if (i == 4 || i == 7) {
                if (c != 0x2d) revert BadEnvelope(p);
                continue;
            }
            if (c < 0x30 || c > 0x39) revert BadEnvelope(p);
            d = d * 10 + (c - 0x30);
        }
    }

    /// Runs the checks (docs/evm.md, "On-chain checks"):
    /// `u8 1 ‖ u8 predicates ‖ (address verifier ‖ u8 proofs ‖ (u8 inputs ‖ (u8 source ‖ u64 arg)*)*)*`,
    /// source 1 = BN254 commitment of field `arg`, 2 = the constant `arg`,
    /// 3 = the public date of field `arg` as `YYYYMMDD`.
    function _verify(bytes calldata env, bytes calldata checks, uint256[] calldata proofs) private view {
        Ctx memory x;
        {
            uint256 p;
            (x.id,, p) = _header(env);
            (x.kinds, x.bodies) = _fields(env, p);
        }
        if (checks.length < 2 || uint8(checks[0]) != 1) revert WrongChecks(x.id);
        x.c = 2;
        uint256 npred = uint8(checks[1]);
        for (uint256 k = 0; k < npred; k++) {
            address verifier = address(bytes20(checks[x.c:x.c + 20]));
            uint256 nproofs = uint8(checks[x.c + 20]);
            x.c += 21;
            for (uint256 j = 0; j < nproofs; j++) {
                if (!_proves(verifier, env, checks, proofs, x)) revert ProofRejected(x.id, k);
            }
        }
        if (x.c != checks.length || x.w != proofs.length) revert WrongChecks(x.id);
    }

    /// `_verify`'s state: the envelope id, its fields' kinds and body offsets,
    /// and where it is in the checks (`c`, bytes) and the proofs (`w`, words).
    struct Ctx {
        bytes16 id;
        uint8[] kinds;
        uint256[] bodies;
        uint256 c;
        uint256 w;
    }

    /// Reads one proof's inputs and words and asks the verifier.
    function _proves(
        address verifier,
        bytes calldata env,
        bytes calldata checks,
        uint256[] calldata proofs,
        Ctx memory x
    ) private view returns (bool) {
        (uint256[] memory input, bool ok) = _inputs(env, checks, x);
        if (!ok || x.w + 8 > proofs.length) return false;
        uint256[8] memory proof;
        for (uint256 q = 0; q < 8; q++) {
            proof[q] = proofs[x.w + q];
        }
        x.w += 8;
        return IGroth16Verifier(verifier).verifyProof(proof, input);
    }

    /// One proof's public inputs, read from the envelope as the checks say.
    function _inputs(bytes calldata env, bytes calldata checks, Ctx memory x)
        private
        pure
        returns (uint256[] memory input, bool ok)
    {
        uint256 nin = uint8(checks[x.c]);
        x.c += 1;
        input = new uint256[](nin);
        for (uint256 t = 0; t < nin; t++) {
            uint8 source = uint8(checks[x.c]);
            uint256 arg = uint64(bytes8(checks[x.c + 1:x.c + 9]));
            x.c += 9;
            if (source == 2) {
                input[t] = arg;
            } else if (source == 1 && arg < x.kinds.length && x.kinds[arg] == 5) {
                input[t] = uint256(bytes32(env[x.bodies[arg]:x.bodies[arg] + 32]));
            } else if (source == 3 && arg < x.kinds.length && x.kinds[arg] == 0) {
                input[t] = _date(env, x.bodies[arg]);
            } else {
                return (input, false);
            }
        }
        return (input, true);
    }

    function sequenceOf(bytes16 id) external view returns (bool found, uint64 sequence) {
        uint64 s = seqPlusOne[id];
        return (s != 0, s == 0 ? 0 : s - 1);
    }

    /// Publishes a policy's text under its canonical plan hash, with the
    /// checks the registry runs for its envelopes (empty: none).
    function publishPolicy(
        bytes32 hash,
        string calldata id,
        uint32 version,
        string calldata text,
        bytes calldata checks
    ) external onlyAdmin {
        policyBlockOf[hash] = uint64(block.number);
        checksOf[hash] = checks.length == 0 ? bytes32(0) : keccak256(checks);
        emit PolicyPublished(hash, id, version, text, checks);
    }

    function revoke(bytes32 subject, string calldata reason) external onlyAdmin {
        revoked[subject] = true;
        emit Revoked(subject, reason);
    }
}

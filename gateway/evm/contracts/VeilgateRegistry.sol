// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

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
contract VeilgateRegistry {
    bytes constant ENTRY_DOMAIN = "veilgate/ledger-entry/v1";

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

    event Appended(uint64 indexed sequence, bytes16 indexed id, bytes32 entryHash, bytes envelope);
    event WriterSet(address indexed writer, bool allowed);
    event PolicyPublished(bytes32 indexed hash, string id, uint32 version, string text);
    event Revoked(bytes32 indexed subject, string reason);

    error NotAdmin();
    error NotWriter();
    error LengthMismatch();
    error Conflict(bytes16 id);

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
    /// skipped; an id present with other bytes reverts the whole batch.
    function append(bytes16[] calldata ids, bytes[] calldata envelopes) external {
        if (!writers[msg.sender]) revert NotWriter();
        if (ids.length != envelopes.length) revert LengthMismatch();
        uint64 n = count;
        bytes32 prev = head;
        for (uint256 i = 0; i < ids.length; i++) {
            bytes16 id = ids[i];
            bytes32 h = sha256(envelopes[i]);
            if (seqPlusOne[id] != 0) {
                if (envelopeHashOf[id] != h) revert Conflict(id);
                continue;
            }
            bytes32 e = sha256(abi.encodePacked(ENTRY_DOMAIN, n, prev, id, h));
            seqPlusOne[id] = n + 1;
            envelopeHashOf[id] = h;
            entryHashOf[n] = e;
            blockOf[n] = uint64(block.number);
            emit Appended(n, id, e, envelopes[i]);
            prev = e;
            n++;
        }
        count = n;
        head = prev;
    }

    function sequenceOf(bytes16 id) external view returns (bool found, uint64 sequence) {
        uint64 s = seqPlusOne[id];
        return (s != 0, s == 0 ? 0 : s - 1);
    }

    function publishPolicy(bytes32 hash, string calldata id, uint32 version, string calldata text)
        external
        onlyAdmin
    {
        policyBlockOf[hash] = uint64(block.number);
        emit PolicyPublished(hash, id, version, text);
    }

    function revoke(bytes32 subject, string calldata reason) external onlyAdmin {
        revoked[subject] = true;
        emit Revoked(subject, reason);
    }
}

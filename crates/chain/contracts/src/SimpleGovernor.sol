// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title SimpleGovernor
/// @notice Minimal governor that records proposals and emits OpenZeppelin
///         Governor's exact `ProposalCreated` event, so Vigil's governance
///         monitoring can be tested against real logs. There is no voting:
///         a proposal is stored with its voting window and can be read back.
///         `proposalId` is computed exactly like OZ Governor.hashProposal:
///         keccak256(abi.encode(targets, values, calldatas, keccak256(description))).
contract SimpleGovernor {
    enum ProposalState {
        Pending, // before voteStart
        Active, // voteStart <= block.number <= voteEnd
        Closed // after voteEnd
    }

    struct Proposal {
        address proposer;
        uint48 voteStart;
        uint48 voteEnd;
        address[] targets;
        uint256[] values;
        bytes[] calldatas;
        string description;
    }

    /// @notice Blocks between proposal creation and voteStart.
    uint48 public immutable votingDelay;
    /// @notice Length of the voting window in blocks.
    uint48 public immutable votingPeriod;

    mapping(uint256 => Proposal) private _proposals;
    uint256[] public proposalIds;

    /// @notice OpenZeppelin Governor's ProposalCreated (exact signature).
    event ProposalCreated(
        uint256 proposalId,
        address proposer,
        address[] targets,
        uint256[] values,
        string[] signatures,
        bytes[] calldatas,
        uint256 voteStart,
        uint256 voteEnd,
        string description
    );

    constructor(uint48 votingDelay_, uint48 votingPeriod_) {
        require(votingPeriod_ > 0, "SimpleGovernor: ZERO_PERIOD");
        votingDelay = votingDelay_;
        votingPeriod = votingPeriod_;
    }

    /// @notice Same selector as OZ Governor.propose (0x7d5e81e2).
    function propose(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        string memory description
    ) public returns (uint256 proposalId) {
        require(
            targets.length == values.length && targets.length == calldatas.length,
            "SimpleGovernor: INVALID_PROPOSAL_LENGTH"
        );
        require(targets.length > 0, "SimpleGovernor: EMPTY_PROPOSAL");

        proposalId = hashProposal(targets, values, calldatas, keccak256(bytes(description)));
        Proposal storage p = _proposals[proposalId];
        require(p.proposer == address(0), "SimpleGovernor: PROPOSAL_EXISTS");

        uint48 voteStart = uint48(block.number) + votingDelay;
        uint48 voteEnd = voteStart + votingPeriod;
        p.proposer = msg.sender;
        p.voteStart = voteStart;
        p.voteEnd = voteEnd;
        p.targets = targets;
        p.values = values;
        p.calldatas = calldatas;
        p.description = description;
        proposalIds.push(proposalId);

        emit ProposalCreated(
            proposalId,
            msg.sender,
            targets,
            values,
            new string[](targets.length),
            calldatas,
            voteStart,
            voteEnd,
            description
        );
    }

    function hashProposal(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) public pure returns (uint256) {
        return uint256(keccak256(abi.encode(targets, values, calldatas, descriptionHash)));
    }

    function proposalCount() external view returns (uint256) {
        return proposalIds.length;
    }

    function proposalProposer(uint256 proposalId) external view returns (address) {
        return _proposals[proposalId].proposer;
    }

    function proposalSnapshot(uint256 proposalId) external view returns (uint256) {
        return _proposals[proposalId].voteStart;
    }

    function proposalDeadline(uint256 proposalId) external view returns (uint256) {
        return _proposals[proposalId].voteEnd;
    }

    function state(uint256 proposalId) external view returns (ProposalState) {
        Proposal storage p = _proposals[proposalId];
        require(p.proposer != address(0), "SimpleGovernor: UNKNOWN_PROPOSAL");
        if (block.number < p.voteStart) return ProposalState.Pending;
        if (block.number <= p.voteEnd) return ProposalState.Active;
        return ProposalState.Closed;
    }

    /// @notice Full stored proposal.
    function getProposal(uint256 proposalId)
        external
        view
        returns (
            address proposer,
            uint256 voteStart,
            uint256 voteEnd,
            address[] memory targets,
            uint256[] memory values,
            bytes[] memory calldatas,
            string memory description
        )
    {
        Proposal storage p = _proposals[proposalId];
        require(p.proposer != address(0), "SimpleGovernor: UNKNOWN_PROPOSAL");
        return (p.proposer, p.voteStart, p.voteEnd, p.targets, p.values, p.calldatas, p.description);
    }
}

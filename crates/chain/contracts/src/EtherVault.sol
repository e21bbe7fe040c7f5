// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

/// @title EtherVault
/// @notice A protected ETH bank. Users `deposit` ETH and `withdraw` up to
///         their own balance.
///
/// THE BUG (deliberate, the classic DAO reentrancy): `withdraw` sends the ETH
/// with a raw `call` BEFORE it decrements the caller's balance. A contract
/// caller's `receive()` can call `withdraw` again while its balance still
/// reads as untouched, and again, until the vault is empty. The decrement is
/// `unchecked`, so when the nested frames unwind the balance wraps below zero
/// instead of reverting (under 0.8's checked arithmetic a plain `-=` would
/// revert the whole drain). A real vault would update the balance first
/// (checks-effects-interactions) and/or use a `nonReentrant` guard.
///
/// Emergency stop: `deposit` and `withdraw` are `whenNotPaused`. Only
/// guardians appointed by the owner (`addGuardian`) can `pause`/`unpause` —
/// the lever a Vigil node pulls when it detects the attack.
contract EtherVault is Ownable, Pausable {
    /// @notice ETH credited to each user.
    mapping(address => uint256) public balances;

    mapping(address => bool) private _guardians;

    event Deposit(address indexed user, uint256 amount);
    event Withdraw(address indexed user, uint256 amount);
    event GuardianAdded(address indexed guardian);
    event GuardianRemoved(address indexed guardian);

    error NotGuardian(address caller);
    error ZeroAmount();
    error InsufficientBalance(uint256 requested, uint256 available);
    error TransferFailed();

    modifier onlyGuardian() {
        if (!_guardians[msg.sender]) revert NotGuardian(msg.sender);
        _;
    }

    constructor() Ownable(msg.sender) {}

    // -------------------------------------------------------------- guardians

    function addGuardian(address guardian) external onlyOwner {
        _guardians[guardian] = true;
        emit GuardianAdded(guardian);
    }

    function removeGuardian(address guardian) external onlyOwner {
        _guardians[guardian] = false;
        emit GuardianRemoved(guardian);
    }

    function isGuardian(address account) external view returns (bool) {
        return _guardians[account];
    }

    /// @notice Emergency stop. Guardians only. Emits OZ `Paused(address)`.
    function pause() external onlyGuardian {
        _pause();
    }

    /// @notice Resume. Guardians only. Emits OZ `Unpaused(address)`.
    function unpause() external onlyGuardian {
        _unpause();
    }

    // ------------------------------------------------------------------ users

    /// @notice Credit `msg.value` to the caller.
    function deposit() external payable whenNotPaused {
        if (msg.value == 0) revert ZeroAmount();
        balances[msg.sender] += msg.value;
        emit Deposit(msg.sender, msg.value);
    }

    /// @notice Send `amount` of the caller's ETH back to it. REENTRANT — see
    ///         the contract docs.
    function withdraw(uint256 amount) external whenNotPaused {
        if (amount == 0) revert ZeroAmount();
        if (balances[msg.sender] < amount) revert InsufficientBalance(amount, balances[msg.sender]);
        // Interaction before effect: the caller may re-enter here.
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed();
        unchecked {
            balances[msg.sender] -= amount;
        }
        emit Withdraw(msg.sender, amount);
    }

    // ------------------------------------------------------------------ views

    /// @notice ETH held by the vault.
    function totalAssets() external view returns (uint256) {
        return address(this).balance;
    }
}

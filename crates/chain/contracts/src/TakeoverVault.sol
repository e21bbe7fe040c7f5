// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title TakeoverVault
/// @notice A protected, upgradeable-style token vault. Users `deposit` and
///         `withdraw` their own `asset` (per-user accounting, no interest).
///         The owner may `sweep` the vault's whole balance (an "emergency
///         migration" lever) and `upgradeTo` a new implementation.
///
/// THE BUG (deliberate, the unprotected-initializer takeover): the owner is
/// set by `initialize(owner_)`, which is meant to be called exactly once by
/// the deployer (through a proxy, where a constructor cannot run). It has no
/// initializer guard, so ANYONE can call it again later, become the owner and
/// `sweep` every user's tokens to themselves in the same transaction. A real
/// contract would use OZ `Initializable`'s `initializer` modifier (and
/// `_disableInitializers()` in the implementation's constructor).
///
/// Emergency stop: `deposit`, `withdraw` and `sweep` are `whenNotPaused`.
/// Guardians are deliberately NOT managed by the owner (a hijacked owner could
/// otherwise appoint itself and unpause): the constructor appoints the first
/// guardian and only guardians can `addGuardian`/`removeGuardian`/`pause`/
/// `unpause` — the lever a Vigil node pulls when it detects the attack.
contract TakeoverVault is Pausable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice The token held.
    IERC20 public immutable asset;
    /// @notice The implementation last set by `upgradeTo` (bookkeeping only).
    address public implementation;

    /// @notice Tokens supplied by each user.
    mapping(address => uint256) public deposits;
    uint256 public totalDeposits;

    address private _owner;
    mapping(address => bool) private _guardians;

    event Deposit(address indexed user, uint256 amount);
    event Withdraw(address indexed user, uint256 amount);
    event Swept(address indexed to, uint256 amount);
    /// @notice OZ Ownable's event (same signature).
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    /// @notice ERC-1967's event (same signature).
    event Upgraded(address indexed implementation);
    event GuardianAdded(address indexed guardian);
    event GuardianRemoved(address indexed guardian);

    error NotOwner(address caller);
    error NotGuardian(address caller);
    error ZeroAmount();
    error InsufficientBalance(uint256 requested, uint256 available);

    modifier onlyOwner() {
        if (msg.sender != _owner) revert NotOwner(msg.sender);
        _;
    }

    modifier onlyGuardian() {
        if (!_guardians[msg.sender]) revert NotGuardian(msg.sender);
        _;
    }

    constructor(IERC20 asset_, address guardian_) {
        require(address(asset_) != address(0) && guardian_ != address(0), "TakeoverVault: ZERO_ADDRESS");
        asset = asset_;
        _guardians[guardian_] = true;
        emit GuardianAdded(guardian_);
    }

    // ------------------------------------------------------------------ owner

    /// @notice Set the owner. UNPROTECTED — callable by anyone, any number of
    ///         times (see the contract docs).
    function initialize(address owner_) external {
        address previous = _owner;
        _owner = owner_;
        emit OwnershipTransferred(previous, owner_);
    }

    function owner() external view returns (address) {
        return _owner;
    }

    /// @notice Send the vault's whole `asset` balance to `to`. Owner only.
    function sweep(address to) external onlyOwner nonReentrant whenNotPaused returns (uint256 amount) {
        amount = asset.balanceOf(address(this));
        asset.safeTransfer(to, amount);
        emit Swept(to, amount);
    }

    /// @notice Record a new implementation (no delegation happens: this is
    ///         not a real proxy). Owner only. Emits ERC-1967 `Upgraded`.
    function upgradeTo(address newImplementation) external onlyOwner {
        implementation = newImplementation;
        emit Upgraded(newImplementation);
    }

    // -------------------------------------------------------------- guardians

    function addGuardian(address guardian) external onlyGuardian {
        _guardians[guardian] = true;
        emit GuardianAdded(guardian);
    }

    function removeGuardian(address guardian) external onlyGuardian {
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

    /// @notice Supply `amount` of the asset (approve first).
    function deposit(uint256 amount) external nonReentrant whenNotPaused {
        if (amount == 0) revert ZeroAmount();
        asset.safeTransferFrom(msg.sender, address(this), amount);
        deposits[msg.sender] += amount;
        totalDeposits += amount;
        emit Deposit(msg.sender, amount);
    }

    /// @notice Take back `amount` of the caller's own deposit.
    function withdraw(uint256 amount) external nonReentrant whenNotPaused {
        if (amount == 0) revert ZeroAmount();
        if (deposits[msg.sender] < amount) revert InsufficientBalance(amount, deposits[msg.sender]);
        deposits[msg.sender] -= amount;
        totalDeposits -= amount;
        asset.safeTransfer(msg.sender, amount);
        emit Withdraw(msg.sender, amount);
    }
}

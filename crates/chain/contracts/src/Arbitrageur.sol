// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IFlashLoanSimpleReceiver} from "./interfaces/IFlashLoanSimpleReceiver.sol";
import {FlashLender} from "./FlashLender.sol";
import {SimplePair} from "./SimplePair.sol";

/// @title Arbitrageur
/// @notice A BENIGN flash-loan arbitrage bot (no bug, no victim): the
///         flash-loan-plus-swaps traffic a monitor must NOT flag as an
///         attack. `arbitrage(amount)` runs in one transaction:
///   1. flash-borrow `amount` of pairA's token0 (USDX) from FlashLender;
///   2. buy token1 (WETHX) with it on pairA (`swapExactIn`);
///   3. sell all that token1 on pairB (`swapExactIn`);
///   4. approve FlashLender for amount + premium (it pulls the repayment);
///   5. after the loan closes, send whatever token0 remains (the profit, maybe
///      0) to the owner.
/// It touches no vault. If the round trip yields less than amount + premium
/// the transaction reverts with "Arbitrageur: CANNOT_REPAY".
contract Arbitrageur is IFlashLoanSimpleReceiver {
    using SafeERC20 for IERC20;

    address public immutable owner;
    FlashLender public immutable lender;
    SimplePair public immutable pairA;
    SimplePair public immutable pairB;
    IERC20 public immutable token0; // borrowed and repaid (USDX)
    IERC20 public immutable token1; // bought on pairA, sold on pairB (WETHX)

    event ArbitrageExecuted(uint256 amount, uint256 bought, uint256 sold, uint256 profit);

    constructor(FlashLender lender_, SimplePair pairA_, SimplePair pairB_) {
        address t0 = pairA_.token0();
        address t1 = pairA_.token1();
        require(
            (pairB_.token0() == t0 && pairB_.token1() == t1) || (pairB_.token0() == t1 && pairB_.token1() == t0),
            "Arbitrageur: PAIR_MISMATCH"
        );
        owner = msg.sender;
        lender = lender_;
        pairA = pairA_;
        pairB = pairB_;
        token0 = IERC20(t0);
        token1 = IERC20(t1);
    }

    /// @notice Flash-borrow `amount` of token0 and trade pairA -> pairB.
    /// @return profit token0 sent to the owner.
    function arbitrage(uint256 amount) external returns (uint256 profit) {
        require(msg.sender == owner, "Arbitrageur: NOT_OWNER");
        lender.flashLoanSimple(address(this), address(token0), amount, "", 0);
        profit = token0.balanceOf(address(this));
        if (profit > 0) token0.safeTransfer(owner, profit);
    }

    /// @inheritdoc IFlashLoanSimpleReceiver
    function executeOperation(address asset, uint256 amount, uint256 premium, address initiator, bytes calldata)
        external
        returns (bool)
    {
        require(msg.sender == address(lender) && initiator == address(this), "Arbitrageur: UNTRUSTED_CALLBACK");
        require(asset == address(token0), "Arbitrageur: WRONG_ASSET");

        token0.forceApprove(address(pairA), amount);
        uint256 bought = pairA.swapExactIn(address(token0), amount, 0, address(this));
        token1.forceApprove(address(pairB), bought);
        uint256 sold = pairB.swapExactIn(address(token1), bought, 0, address(this));

        uint256 owed = amount + premium;
        uint256 balance = token0.balanceOf(address(this));
        require(balance >= owed, "Arbitrageur: CANNOT_REPAY");
        token0.forceApprove(address(lender), owed);
        emit ArbitrageExecuted(amount, bought, sold, balance - owed);
        return true;
    }
}

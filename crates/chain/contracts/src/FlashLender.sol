// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IFlashLoanSimpleReceiver} from "./interfaces/IFlashLoanSimpleReceiver.sol";

/// @title FlashLender
/// @notice An Aave-V3-shaped flash loan pool. `flashLoanSimple` has the exact
///         Aave V3 Pool signature (selector 0x42b0b77c) and emits Aave V3's
///         exact `FlashLoan` event, so monitors written against mainnet Aave see
///         the same calldata and logs here.
///
/// Liquidity is whatever ERC20 balance this contract holds (fund it by plain
/// transfer or by minting to it). Flow, as in Aave V3:
///   1. send `amount` of `asset` to `receiverAddress`;
///   2. call `receiverAddress.executeOperation(asset, amount, premium, msg.sender, params)`,
///      which must return true;
///   3. pull `amount + premium` back from the receiver with transferFrom
///      (the receiver must have approved this contract).
contract FlashLender is ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Premium in basis points: 5 = 0.05% (Aave V3's default FLASHLOAN_PREMIUM_TOTAL).
    uint128 public constant FLASHLOAN_PREMIUM_TOTAL = 5;

    /// @dev Aave V3 DataTypes.InterestRateMode.NONE — a flash loan that is repaid in full.
    uint8 private constant INTEREST_RATE_MODE_NONE = 0;

    /// @notice Aave V3 Pool's FlashLoan event (exact signature).
    event FlashLoan(
        address indexed target,
        address initiator,
        address indexed asset,
        uint256 amount,
        uint8 interestRateMode,
        uint256 premium,
        uint16 indexed referralCode
    );

    function flashLoanSimple(
        address receiverAddress,
        address asset,
        uint256 amount,
        bytes calldata params,
        uint16 referralCode
    ) external nonReentrant {
        require(amount > 0, "FlashLender: ZERO_AMOUNT");
        require(IERC20(asset).balanceOf(address(this)) >= amount, "FlashLender: INSUFFICIENT_LIQUIDITY");

        // Aave's percentMul rounds half up: (amount * bps + 5000) / 10000.
        uint256 premium = (amount * FLASHLOAN_PREMIUM_TOTAL + 5_000) / 10_000;

        IERC20(asset).safeTransfer(receiverAddress, amount);
        require(
            IFlashLoanSimpleReceiver(receiverAddress).executeOperation(asset, amount, premium, msg.sender, params),
            "FlashLender: INVALID_FLASHLOAN_EXECUTOR_RETURN"
        );
        IERC20(asset).safeTransferFrom(receiverAddress, address(this), amount + premium);

        emit FlashLoan(receiverAddress, msg.sender, asset, amount, INTEREST_RATE_MODE_NONE, premium, referralCode);
    }

    /// @notice Tokens of `asset` available to flash-borrow.
    function availableLiquidity(address asset) external view returns (uint256) {
        return IERC20(asset).balanceOf(address(this));
    }
}

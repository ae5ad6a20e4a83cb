""".pto text -> IR (the inverse of :mod:`pto_wsp.ir.printer`).

The grammar (``grammar/pto.lark``, shipped as package data) is loaded once and parsed with
Lark's LALR parser, keeping positions; the parse tree is then transformed into IR nodes, each
carrying a ``SourceLoc(filename, line, col, text=text)``, and the module is verified. Every
failure is a located :class:`~pto_wsp.errors.PtoError` (syntax errors are
:class:`~pto_wsp.errors.PtoSyntaxError` with a caret under the offending column).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from functools import cache

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, \
    UnexpectedToken, VisitError
from lark.visitors import Transformer_NonRecursive

from ..errors import PtoError, PtoSyntaxError, SourceLoc
from ..schedule import (Deps, DispatchPolicy, Pools, ReadyPolicy, Schedule, StartPolicy,
                        TaskGraph, TaskWindow, TimingPolicy, TracePolicy, WindowMode)
from ..types import DType, Location
from . import expr as irx
from . import nodes as ir

__all__ = ["parse_module", "parse_expr", "get_parser", "comment_lines"]


@cache
def _grammar() -> str:
    """``grammar/pto.lark`` from the package data (read once per process)."""
    from ..resources import grammar_path
    return grammar_path().read_text(encoding="utf-8")


@cache
def get_parser(strict: bool = False) -> Lark:
    """The LALR parser of ``grammar/pto.lark`` (built once per process)."""
    return Lark(_grammar(), parser="lalr", propagate_positions=True, maybe_placeholders=True,
                strict=strict)


@cache
def _expr_parser() -> Lark:
    return Lark(_grammar(), parser="lalr", start="expr", propagate_positions=True,
                maybe_placeholders=True)


_comments: list[int] | None = None


def _on_comment(tok: Token) -> None:
    if _comments is not None:
        _comments.append(tok.line)


@cache
def _comment_parser() -> Lark:
    return Lark(_grammar(), parser="lalr", maybe_placeholders=True,
                lexer_callbacks={"COMMENT": _on_comment})


def comment_lines(text: str) -> list[int]:
    """Line numbers of the ``//`` comments in ``text`` (which must parse)."""
    global _comments
    _comments = []
    try:
        _comment_parser().parse(text)
        return list(_comments)
    except UnexpectedInput:
        return list(_comments)
    finally:
        _comments = None


def parse_module(text: str, filename: str = "<string>", verify: bool = True) -> ir.Module:
    """Parse ``.pto`` text into a verified :class:`~pto_wsp.ir.nodes.Module`.

    Line ends may be ``\\n`` or ``\\r\\n``; ``verify=False`` skips the verifier (the text
    must still be well formed)."""
    if isinstance(text, str) and "\r\n" in text:
        text = text.replace("\r\n", "\n")
    tree = _parse(get_parser(), text, filename)
    module = _transform(tree, text, filename)
    if verify:
        from .verify import verify_module
        try:
            verify_module(module)
        except RecursionError:
            raise PtoSyntaxError("the program is nested too deeply to verify",
                                 module.loc) from None
    return module


def parse_expr(text: str, filename: str = "<string>") -> irx.ScalarExpr:
    """Parse one scalar expression (as printed by ``format_expr``)."""
    tree = _parse(_expr_parser(), text, filename)
    return _transform(tree, text, filename, expr=True)


# ---------------------------------------------------------------- errors


_TERMINAL_WORDS = {
    "VNAME": "a %name", "GNAME": "an @name", "VALUE": "a %N value", "SYMREF": "a $symbol",
    "INT": "an integer", "FLOAT": "a floating-point number", "STRING": 'a "string"',
    "NAME": "a name",
    "DTYPE": "a dtype (f16, bf16, f32, f64, i8, i16, i32, i64, u8, u16, u32, u64, bool)", "TILE": "a tile type tile<RxCxDT>",
    "LAYOUT": "a layout<...>", "HEREDOC": "a <<<TAG heredoc", "DIRECTION": "in, out or inout",
    "LOOP": "a loop (parallel_for, for_each, select)", "BLOCK": "combine/sequential",
    "COLLECTIVE": "a collective (relayout, allreduce, allgather, reduce_scatter)",
    "$END": "the end of the file",
}
# tokens that can start a scalar expression: summarised as "an expression"
_EXPR_START = {"VNAME", "SYMREF", "INT", "FLOAT", "DTYPE", "STRING", "LPAR", "MINUS", "BANG",
               "TILDE", "SLOT", "SIZE", "WHERE", "CAST", "MIN", "MAX", "FLOORDIV", "TRUE",
               "FALSE", "PENDING", "PARAM"}


def _describe(parser: Lark, names) -> str:
    names = set(names)
    words = []
    if len(names & _EXPR_START) >= 8 and "DTYPE" in names:
        names -= _EXPR_START
        words.append("an expression")
    for n in sorted(names):
        if n in _TERMINAL_WORDS:
            words.append(_TERMINAL_WORDS[n])
            continue
        try:
            pat = parser.get_terminal(n).pattern
        except KeyError:
            words.append(n.lower())
            continue
        words.append(f"'{pat.value}'" if pat.type == "str" else n.lower())
    words = sorted(set(words), key=lambda w: (w.startswith("'"), w))
    if not words:
        return "something else"
    if len(words) > 12:
        words = words[:12] + ["..."]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _end_loc(text: str, filename: str) -> SourceLoc:
    lines = text.split("\n")
    return SourceLoc(filename, len(lines), len(lines[-1]) + 1, text=text)


def _parse(parser: Lark, text: str, filename: str) -> Tree:
    if not isinstance(text, str):
        raise PtoSyntaxError(f"expected .pto text, got {type(text).__name__}")
    try:
        return parser.parse(text)
    except UnexpectedInput as e:
        raise _syntax_error(parser, e, text, filename) from None
    except RecursionError:
        raise PtoSyntaxError("the program is nested too deeply",
                             _end_loc(text, filename)) from None


def _expected(parser: Lark, e: UnexpectedInput) -> str:
    """What the parser could have accepted at the error, in words."""
    names = None
    ip = getattr(e, "interactive_parser", None)
    if ip is not None:
        try:
            names = ip.accepts()
        except Exception:  # pragma: no cover - fall back to lark's own (coarser) set
            names = None
    if names is None:
        names = getattr(e, "expected", None) or getattr(e, "allowed", None) or ()
    return _describe(parser, names)


_QUOTE_START = re.compile(r'[%@$]?"')


def _syntax_error(parser: Lark, e: UnexpectedInput, text: str, filename: str) -> PtoSyntaxError:
    if isinstance(e, UnexpectedEOF) or (isinstance(e, UnexpectedToken) and
                                        e.token.type == "$END"):
        return PtoSyntaxError(f"unexpected end of file: expected {_expected(parser, e)}",
                              _end_loc(text, filename))
    if isinstance(e, UnexpectedToken):
        pos = e.token.start_pos if e.token.start_pos is not None else 0
        loc = SourceLoc(filename, e.token.line, e.token.column, text=text)
        got = repr(str(e.token))
    elif isinstance(e, UnexpectedCharacters):
        pos = e.pos_in_stream
        loc = SourceLoc(filename, e.line, e.column, text=text)
        ch = text[pos] if 0 <= pos < len(text) else ""
        got = "a newline" if ch == "\n" else repr(ch)
    else:  # pragma: no cover - lark raises only the three kinds above
        return PtoSyntaxError(f"syntax error: {e}", _end_loc(text, filename))
    what = _expected(parser, e)
    if text.startswith("<<<", pos):
        return PtoSyntaxError(
            f"unterminated heredoc: expected {what}", loc,
            hint="a heredoc is <<<TAG, a newline, the text, a newline and TAG on its own line")
    if _QUOTE_START.match(text, pos) and '"' not in text[pos:].split("\n", 1)[0].split(
            '"', 1)[1]:
        return PtoSyntaxError("unterminated quoted name or string", loc,
                              hint='close it with " on the same line')
    return PtoSyntaxError(f"unexpected {got}: expected {what}", loc)


# ---------------------------------------------------------------- tree -> IR


@dataclass
class _Lit:
    value: object
    dtype: DType | None  # None: a bare literal (default dtype of its Python type)
    loc: SourceLoc


@dataclass
class _Wrap:
    kind: str
    value: object
    loc: SourceLoc | None = None


def _transform(tree: Tree, text: str, filename: str, expr: bool = False):
    t = _ToIR(text, filename)
    try:
        out = t.transform(tree)
        return t.expr(out) if expr else out
    except VisitError as e:
        if isinstance(e.orig_exc, PtoError):
            raise e.orig_exc from None
        if isinstance(e.orig_exc, RecursionError):
            raise PtoSyntaxError("the program is nested too deeply",
                                 _end_loc(text, filename)) from None
        raise


_BINARY = ("lor", "land", "or", "xor", "and", "eq", "ne", "lt", "le", "gt", "ge", "shl",
           "shr", "add", "sub", "mul", "div", "mod", "min", "max", "floordiv")
_UNARY = ("neg", "not", "inv")

_DISPATCH = ("round_robin", "affinity", "hash", "dispatch_by", "work_steal")
_TIMING = ("immediate", "batched", "interleaved", "rate_limit")
_DEPS = ("tensor_map_exact", "bytes_overlap", "explicit", "hybrid")
_POOLS = ("single", "by_exec_unit", "custom")
_READY = ("fifo", "work_steal", "priority")
_START = ("after_orchestration", "threshold")
_TRACE = {"none": TracePolicy(), "cycles": TracePolicy(sim=True),
          "wall_clock": TracePolicy(wall=True), "both": TracePolicy(sim=True, wall=True)}
_LOOP = {"parallel_for": "par", "for_each": "seq", "select": "sel"}
_BLOCK = {"combine": "par", "sequential": "seq"}
_TILE_RE = re.compile(r"tile<([0-9]+)x([0-9]+)x([a-z0-9]+)>")
_SYM_RE = re.compile(r'\$([A-Za-z_][A-Za-z0-9_]*|"(?:[^"\\\n]|\\.)*")(?::([a-z0-9]+))?')


def _positive(n: int, what: str, loc) -> int:
    if n <= 0:
        raise PtoSyntaxError(f"{what} must be a positive integer, got {n}", loc)
    return n


def _count(kind: str, n: int | None, wanted: bool, loc) -> int:
    """The ``(N)`` of a policy: required and positive for counted kinds, absent otherwise."""
    if wanted and n is None:
        raise PtoSyntaxError(f"{kind} needs a count: {kind}(N)", loc)
    if not wanted and n is not None:
        raise PtoSyntaxError(f"{kind} takes no count", loc)
    return 0 if n is None else _positive(n, f"the count of {kind}", loc)


def _one_of(kind: str, value: str, allowed, loc) -> str:
    if value not in allowed:
        raise PtoSyntaxError(f"unknown {kind} '{value}': expected " +
                             ", ".join(allowed[:-1]) + f" or {allowed[-1]}", loc)
    return value


class _ToIR(Transformer_NonRecursive):
    """Parse tree -> IR nodes. Methods take (children, meta) via _call_userfunc below."""

    def __init__(self, text: str, filename: str):
        super().__init__()
        self.text = text
        self.filename = filename

    # -- plumbing --------------------------------------------------------------------
    def _call_userfunc(self, tree, new_children=None):
        children = new_children if new_children is not None else tree.children
        f = getattr(self, "r_" + tree.data, None)
        if f is None:  # pragma: no cover - every rule has a method
            raise PtoSyntaxError(f"internal: no handler for '{tree.data}'", self.loc(tree.meta))
        return f(children, self.loc(tree.meta))

    def loc(self, meta_or_tok) -> SourceLoc:
        line = getattr(meta_or_tok, "line", None)
        col = getattr(meta_or_tok, "column", None)
        if line is None:
            return SourceLoc(self.filename, 1, 1, text=self.text)
        return SourceLoc(self.filename, line, col or 0, text=self.text)

    def name(self, tok: Token) -> str:
        """The name after a sigil (``%x``, ``@"a b"``) or a bare/quoted name."""
        s = str(tok)
        if s[:1] in "%@$":
            s = s[1:]
        if s.startswith('"'):
            return self.string(tok, s)
        return s

    def string(self, tok: Token, s: str | None = None) -> str:
        s = str(tok) if s is None else s
        try:
            out = json.loads(s)
        except ValueError:
            raise PtoSyntaxError(f"malformed string literal {s}", self.loc(tok),
                                 hint='use JSON escapes: \\" \\\\ \\n \\t \\uXXXX') from None
        if not isinstance(out, str):  # pragma: no cover - the regex only admits strings
            raise PtoSyntaxError("expected a string", self.loc(tok))
        return out

    def dtype(self, tok: Token) -> DType:
        return DType(str(tok))

    def int(self, tok: Token) -> int:
        return int(str(tok))

    def expr(self, x) -> irx.ScalarExpr:
        """A child in expression position (literals become constants)."""
        if isinstance(x, _Lit):
            if isinstance(x.value, str):
                raise PtoSyntaxError("a string is not a scalar expression", x.loc)
            dt = x.dtype if x.dtype is not None else (
                DType.BOOL if isinstance(x.value, bool) else
                DType.I64 if isinstance(x.value, int) else DType.F64)
            return irx.Const(x.value, dt, x.loc)
        if isinstance(x, irx.ScalarExpr):
            return x
        raise PtoSyntaxError("expected a scalar expression", getattr(x, "loc", None))

    def number(self, x: _Lit, what: str, allow_typed=False):
        if not isinstance(x, _Lit) or isinstance(x.value, str) or \
                (x.dtype is not None and not allow_typed):
            raise PtoSyntaxError(f"{what} must be a plain number", getattr(x, "loc", None))
        return x.value

    # -- literals --------------------------------------------------------------------
    def r_int_lit(self, c, loc):
        return _Lit(self.int(c[0]), None, loc)

    def r_float_lit(self, c, loc):
        return _Lit(float(str(c[0])), None, loc)

    def r_true_lit(self, c, loc):
        return _Lit(True, None, loc)

    def r_false_lit(self, c, loc):
        return _Lit(False, None, loc)

    def r_str_lit(self, c, loc):
        return _Lit(self.string(c[0]), None, loc)

    def r_typed_lit(self, c, loc):
        inner = c[1]
        if inner.dtype is not None or isinstance(inner.value, str):
            raise PtoSyntaxError(f"{c[0]}(...) takes a plain number or true/false", inner.loc)
        return _Lit(inner.value, self.dtype(c[0]), loc)

    # -- expressions -----------------------------------------------------------------
    def r_var(self, c, loc):
        return irx.Var(self.name(c[0]), loc)

    def r_symbol(self, c, loc):
        m = _SYM_RE.fullmatch(str(c[0]))
        name = self.name(Token("SYMREF", m.group(1), line=c[0].line, column=c[0].column))
        return irx.Symbol(name, DType(m.group(2)) if m.group(2) else DType.U64, loc)

    def r_slot(self, c, loc):
        return irx.Slot(self.int(c[0]), loc)

    def r_task_param(self, c, loc):
        return irx.TaskParam(self.int(c[0]), loc)

    def r_pending(self, c, loc):
        return irx.ChannelPending(self.name(c[0]), loc)

    def r_axis_size(self, c, loc):
        return irx.AxisSize(self.name(c[0]), None if c[1] is None else self.expr(c[1]), loc)

    def r_where(self, c, loc):
        return irx.Where(self.expr(c[0]), self.expr(c[1]), self.expr(c[2]), loc)

    def r_cast(self, c, loc):
        return irx.Cast(self.dtype(c[1]), self.expr(c[0]), loc)

    # -- declarations ----------------------------------------------------------------
    def r_int_list(self, c, loc):
        return tuple(self.int(x) for x in c if x is not None)

    def r_tensor_decl(self, c, loc):
        name, shape, dt, where, layout = c
        location = _one_of("memory location", str(where), [x.value for x in Location],
                           self.loc(where))
        text = None
        if layout is not None:
            text = self.layout(layout)
        return ir.TensorDecl(self.name(name), shape, self.dtype(dt), Location(location), text,
                             loc)

    def layout(self, tok: Token) -> str:
        from ..layout import TensorLayout
        at = self.loc(tok)
        try:
            return TensorLayout.from_text(str(tok), at).to_text()
        except PtoError as e:
            inside = e.loc is not None and e.loc.text is self.text
            raise PtoSyntaxError(e.message, e.loc if inside else at, e.hint) from None

    def r_axis_decl(self, c, loc):
        name, kind, size, lengths, indptr, indices = c
        return ir.AxisDecl(self.name(name), str(kind), self.int(size), lengths or (),
                           indptr or (), indices or (), loc)

    def r_symbol_decl(self, c, loc):
        sym = self.r_symbol([c[0]], loc)
        return ir.SymbolDecl(sym.name, sym.dtype, self.number(c[1], "a symbol default"), loc)

    # -- kernels ---------------------------------------------------------------------
    def r_tile_type(self, c, loc):
        m = _TILE_RE.fullmatch(str(c[0]))
        try:
            dt = DType(m.group(3))
        except ValueError:
            raise PtoSyntaxError(f"unknown dtype '{m.group(3)}' in {c[0]}", loc) from None
        return ir.TileType(int(m.group(1)), int(m.group(2)), dt)

    def r_scalar_type(self, c, loc):
        return ir.ScalarType(self.dtype(c[0]))

    def r_shaped_tensor_type(self, c, loc):
        t = self.r_tile_type([str(c[0])[len("tensor"):].join(("tile", ""))], loc)
        return ir.TensorType(t.dtype, (t.rows, t.cols))

    def r_kernel_hints(self, c, loc):
        return _Wrap("hints", tuple(sorted(c[0].value)))

    def r_tensor_type(self, c, loc):
        return ir.TensorType(None if c[0] is None else self.dtype(c[0]))

    def r_constexpr_type(self, c, loc):
        return ir.ConstexprType(self.dtype(c[0]))

    def r_param(self, c, loc):
        name, direction, ptype, default = c
        dflt = None if default is None else self.number(default, "a parameter default")
        return ir.Param(self.name(name), ptype, None if direction is None else str(direction),
                        dflt, loc)

    def r_kernel(self, c, loc):
        name, *params, unit, hints, (ops, custom) = c
        return ir.Kernel(self.name(name), tuple(p for p in params if p is not None), ops,
                         custom, str(unit), loc, hints.value if hints else ())

    def r_kernel_body(self, c, loc):
        if isinstance(c[0], ir.CustomBody):
            return (), c[0]
        return c[0], c[1]

    def r_ops(self, c, loc):
        return tuple(c)

    def r_value_ref(self, c, loc):
        return ir.ValueRef(int(str(c[0])[1:]))

    def r_param_ref(self, c, loc):
        return ir.ParamRef(self.name(c[0]))

    def r_imm_int(self, c, loc):
        return ir.Imm(self.int(c[0]), DType.I64)

    def r_imm_float(self, c, loc):
        return ir.Imm(float(str(c[0])), DType.F64)

    def r_imm_typed(self, c, loc):
        inner = c[1]
        if inner.dtype is not None or isinstance(inner.value, str):
            raise PtoSyntaxError(f"{c[0]}(...) takes a plain number or true/false", inner.loc)
        return ir.Imm(inner.value, self.dtype(c[0]))

    def r_attrs(self, c, loc):
        return _Wrap("attrs", tuple(x for x in c if x is not None))

    def r_coll_attrs(self, c, loc):
        return self.r_attrs(c, loc)

    def r_attr(self, c, loc):
        lit = c[1]
        if lit.dtype is not None:
            raise PtoSyntaxError("attribute values are plain numbers, strings or true/false",
                                 lit.loc)
        return (str(c[0]), lit.value)

    def r_op(self, c, loc):
        results, opcode, operands, attrs, types = [], None, [], (), []
        for x in c:
            if x is None:
                continue
            if isinstance(x, Token) and x.type == "VALUE" and opcode is None:
                results.append(int(str(x)[1:]))
            elif isinstance(x, Token) and x.type == "NAME":
                opcode = str(x)
            elif isinstance(x, _Wrap):
                attrs = x.value
            elif isinstance(x, (ir.ValueRef, ir.ParamRef, ir.Imm)):
                operands.append(x)
            else:
                types.append(x)
        return ir.KernelOp(opcode, tuple(operands), tuple(results), tuple(types), attrs, loc)

    def r_includes(self, c, loc):
        return _Wrap("includes", tuple(self.string(x) for x in c if x is not None))

    def r_path(self, c, loc):
        return _Wrap("path", self.string(c[0]))

    def r_custom(self, c, loc):
        kind, lang, includes, path, source = c
        _one_of("custom body kind", str(kind), ["body", "unit"], self.loc(kind))
        language = _one_of("custom body language", self.string(lang), ["c", "c++"],
                           self.loc(lang))
        if source.type == "HEREDOC":
            s = str(source)
            src = s[s.index("\n") + 1:s.rindex("\n")]
        else:
            src = self.string(source)
        return ir.CustomBody(str(kind), language, src,
                             includes.value if includes is not None else (),
                             path.value if path is not None else None)

    # -- workload --------------------------------------------------------------------
    def r_body(self, c, loc):
        return tuple(c)

    def r_workload(self, c, loc):
        return ir.Workload(self.name(c[0]), c[1], loc)

    def r_axes(self, c, loc):
        return _Wrap("axes", tuple(self.expr(x) for x in c if x is not None))

    def r_arg(self, c, loc):
        tok, value = c
        name = self.string(tok) if tok.type == "STRING" else str(tok)
        return (name, value if isinstance(value, ir.ViewExpr) else self.expr(value))

    def r_call(self, c, loc):
        name, axes, *args = c
        return ir.Call(self.name(name), axes.value if axes is not None else (),
                       tuple(a for a in args if a is not None), loc)

    def r_view(self, c, loc):
        return ir.ViewExpr(self.name(c[0]), tuple(x for x in c[1:] if x is not None), loc)

    def r_index(self, c, loc):
        return ir.Index(self.expr(c[0]))

    def r_slice(self, c, loc):
        start, size, step = c
        return ir.Slice(self.expr(start), self.int(size), 1 if step is None else self.int(step))

    def r_domain(self, c, loc):
        return ir.Domain(self.name(c[0]), None if c[1] is None else self.expr(c[1]))

    def r_for_stmt(self, c, loc):
        kind, var, domain, body = c
        return ir.For(_LOOP[str(kind)], self.name(var), domain, body, loc)

    def r_elif_clause(self, c, loc):
        return (self.expr(c[0]), c[1])

    def r_else_clause(self, c, loc):
        return _Wrap("else", c[0])

    def r_when_stmt(self, c, loc):
        branches = [(self.expr(c[0]), c[1])]
        otherwise = None
        for x in c[2:]:
            if isinstance(x, _Wrap):
                otherwise = x.value
            elif x is not None:
                branches.append(x)
        return ir.When(tuple(branches), otherwise, loc)

    def r_part(self, c, loc):
        return c[0]

    def r_block_stmt(self, c, loc):
        return ir.Block(_BLOCK[str(c[0])], tuple(c[1:]), loc)

    def r_slot_set(self, c, loc):
        return ir.SlotSet(self.int(c[0]), self.expr(c[1]), loc)

    def r_slot_load(self, c, loc):
        slot, view, row, col = c
        return ir.SlotLoad(self.int(slot), view, 0 if row is None else self.int(row),
                           0 if col is None else self.int(col), loc)

    def r_channel(self, c, loc):
        return ir.ChannelDecl(self.name(c[0]), self.int(c[1]), loc)

    def r_consumes(self, c, loc):
        return _Wrap("consumes", tuple(self.name(x) for x in c if x is not None))

    r_produces = r_consumes

    def r_process(self, c, loc):
        name, consumes, produces, body = c
        return ir.Process(self.name(name), consumes.value if consumes is not None else (),
                          produces.value if produces is not None else (), body, loc)

    def r_pipe(self, c, loc):
        return ir.Pipe(tuple(x for x in c if isinstance(x, ir.ChannelDecl)),
                       tuple(x for x in c if isinstance(x, ir.Process)), loc)

    def r_send(self, c, loc):
        return ir.Send(self.name(c[0]), c[1], loc)

    def r_collective(self, c, loc):
        dst, kind, src, attrs = c
        pairs = attrs.value if attrs is not None else ()
        names = [k for k, _ in pairs]
        if len(set(names)) != len(names):
            raise PtoSyntaxError(f"{kind} has a repeated attribute", loc)
        return ir.Collective(str(kind), self.name(src), self.name(dst),
                             tuple(sorted(pairs)), loc)

    def r_wait(self, c, loc):
        return ir.Wait(self.name(c[0]), loc)

    def r_consume(self, c, loc):
        return ir.Consume(self.name(c[0]), self.name(c[1]), c[2], loc)

    # -- schedule --------------------------------------------------------------------
    def r_aicpus(self, c, loc):
        return _Wrap("aicpus", self.int(c[0]), loc)

    def r_dispatch_args(self, c, loc):
        key = num = None
        for x in c:
            if isinstance(x, _Wrap):
                num = x.value
            elif x is not None:
                key = self.expr(x)
        return _Wrap("dispatch_args", (key, num))

    def r_dispatch(self, c, loc):
        kind = _one_of("dispatch policy", str(c[0]), _DISPATCH, self.loc(c[0]))
        key, num = c[1].value if c[1] is not None else (None, None)
        keyed = kind in ("affinity", "hash", "dispatch_by")
        if keyed and key is None:
            raise PtoSyntaxError(f"{kind} needs a key expression: {kind}(KEY[, aicpus = N])",
                                 loc)
        if not keyed and key is not None:
            raise PtoSyntaxError(f"{kind} takes no key expression", key.loc or loc,
                                 hint=f"write {kind}(aicpus = N)")
        if kind == "round_robin" and num is None:
            raise PtoSyntaxError("round_robin needs the number of AICPUs: "
                                 "round_robin(aicpus = N)", loc)
        if num is not None:
            _positive(num, "aicpus", loc)
        return ("dispatch", DispatchPolicy(kind, num, key, loc), loc)

    def r_streams(self, c, loc):
        return ("streams", _positive(self.int(c[0]), "streams", loc), loc)

    def r_stream_by(self, c, loc):
        return ("stream_by", self.expr(c[0]), loc)

    def r_timing(self, c, loc):
        kind = _one_of("timing policy", str(c[0]), _TIMING, self.loc(c[0]))
        value = _count(kind, None if c[1] is None else self.int(c[1]), kind != "immediate", loc)
        return ("timing", TimingPolicy(kind, value, loc), loc)

    def r_spatial_map(self, c, loc):
        if not c[0]:
            raise PtoSyntaxError("spatial_map needs at least one mesh dimension", loc)
        for g in c[0]:
            _positive(g, "a spatial_map dimension", loc)
        return ("spatial_grid", c[0], loc)

    def r_deps(self, c, loc):
        return ("deps", Deps(_one_of("dependency mode", str(c[0]), _DEPS, self.loc(c[0]))), loc)

    def r_window(self, c, loc):
        size, unit, mode = c
        _one_of("window unit", str(unit), ["tasks", "bytes"], self.loc(unit))
        m = _one_of("window mode", str(mode), [x.value for x in WindowMode], self.loc(mode))
        try:
            w = TaskWindow(self.int(size), str(unit), WindowMode(m), loc)
        except PtoError as e:
            raise PtoSyntaxError(e.message, loc, e.hint) from None
        return ("window", w, loc)

    def r_pools(self, c, loc):
        kind = _one_of("pool kind", str(c[0]), _POOLS, self.loc(c[0]))
        if (kind == "custom") != (c[1] is not None):
            raise PtoSyntaxError("custom pools take (vector_workers, cube_workers), the other "
                                 "kinds nothing" if kind == "custom" else
                                 f"'{kind}' pools take no worker counts", loc)
        v = 0 if c[1] is None else _positive(self.int(c[1]), "vector_workers", loc)
        k = 0 if c[2] is None else _positive(self.int(c[2]), "cube_workers", loc)
        return ("pools", Pools(kind, v, k), loc)

    def r_ready(self, c, loc):
        kind = _one_of("ready policy", str(c[0]), _READY, self.loc(c[0]))
        if (kind == "priority") != (c[1] is not None):
            raise PtoSyntaxError("priority needs a key expression: priority(KEY)"
                                 if kind == "priority" else f"'{kind}' takes no key", loc)
        return ("ready", ReadyPolicy(kind, None if c[1] is None else self.expr(c[1])), loc)

    def r_start_policy(self, c, loc):
        kind = _one_of("start policy", str(c[0]), _START, self.loc(c[0]))
        n = _count(kind, None if c[1] is None else self.int(c[1]), kind == "threshold", loc)
        return ("start", StartPolicy(kind, n), loc)

    def r_trace(self, c, loc):
        kind = _one_of("trace policy", str(c[0]), list(_TRACE), self.loc(c[0]))
        return ("trace", _TRACE[kind], loc)

    def _fields(self, items, what):
        out = {}
        for field, value, loc in items:
            if field in out:
                shown = "spatial_map" if field == "spatial_grid" else field
                raise PtoSyntaxError(f"'{shown}' is given twice in the {what}", loc)
            out[field] = value
        return out

    def r_cost(self, c, loc):
        return ("cost", (self.name(c[0]), self.expr(c[1])), loc)

    def r_task_graph(self, c, loc):
        costs = {}
        for _, (kernel, e), cloc in (x for x in c if x[0] == "cost"):
            if costs.setdefault(kernel, e) is not e:
                raise PtoSyntaxError(f"the cost of '{kernel}' is given twice", cloc)
        fields = self._fields([x for x in c if x[0] != "cost"], "task_graph block")
        if costs:
            fields["trace"] = replace(fields.get("trace", TracePolicy()),
                                      costs=tuple(costs.items()))
        return ("task_graph", TaskGraph(**fields), loc)

    def r_schedule(self, c, loc):
        return _Wrap("schedule", Schedule(**self._fields(c, "schedule")), loc)

    # -- module ----------------------------------------------------------------------
    def r_start(self, c, loc):
        name, *items = c
        tensors, axes, symbols, kernels, workloads, schedules = [], [], [], [], [], []
        for x in items:
            if isinstance(x, ir.TensorDecl):
                tensors.append(x)
            elif isinstance(x, ir.AxisDecl):
                axes.append(x)
            elif isinstance(x, ir.SymbolDecl):
                symbols.append(x)
            elif isinstance(x, ir.Kernel):
                kernels.append(x)
            elif isinstance(x, ir.Workload):
                workloads.append(x)
            else:
                schedules.append(x)
        if not workloads:
            raise PtoSyntaxError(f"module '{self.name(name)}' has no workload block", loc,
                                 hint="add `workload @name { ... }`")
        if len(workloads) > 1:
            raise PtoSyntaxError("a module has exactly one workload block", workloads[1].loc)
        if len(schedules) > 1:
            raise PtoSyntaxError("a module has at most one schedule block", schedules[1].loc)
        module = ir.Module(self.name(name), tuple(tensors), tuple(axes), tuple(symbols),
                           tuple(kernels), workloads[0],
                           schedules[0].value if schedules else Schedule(), loc)
        ir.check_nesting(module.workload.body)
        _check_whole_tensor_args(module)
        return module


for _op in _BINARY:
    setattr(_ToIR, "r_" + _op, lambda self, c, loc, _op=_op:
            irx.Binary(_op, self.expr(c[0]), self.expr(c[1]), loc))
for _op in _UNARY:
    setattr(_ToIR, "r_" + _op, lambda self, c, loc, _op=_op:
            irx.Unary(_op, self.expr(c[0]), loc))


def _check_whole_tensor_args(m: ir.Module) -> None:
    """``x = %X`` where ``X`` is a tensor and no loop variable: a located hint to write
    ``%X[]`` (a bare ``%name`` in an argument is a loop variable)."""
    tensors = {t.name for t in m.tensors}

    def visit(stmts, scope):
        for s in stmts:
            if isinstance(s, ir.Send):
                s = s.call
            if isinstance(s, ir.Call) and s is not None:
                for name, a in s.args:
                    if isinstance(a, irx.Var) and a.name in tensors and a.name not in scope:
                        raise PtoSyntaxError(
                            f"'%{a.name}' is a tensor: write %{a.name}[] to pass the whole "
                            f"tensor", a.loc, hint="a bare %name in an argument is a loop "
                                                   "variable; tensor views always have [...]")
            elif isinstance(s, (ir.For, ir.Consume)):
                visit(s.body, scope | {s.var})
            elif isinstance(s, ir.When):
                for _, body in s.branches:
                    visit(body, scope)
                if s.otherwise is not None:
                    visit(s.otherwise, scope)
            elif isinstance(s, ir.Block):
                for part in s.parts:
                    visit(part, scope)
            elif isinstance(s, ir.Pipe):
                for p in s.processes:
                    visit(p.body, scope)

    visit(m.workload.body, frozenset())

"""Small kernels several codegen tests share (imported by name; pytest puts this directory on
sys.path)."""

from pto_wsp import DType, In, Out, Tile, kernel, pto

F32 = DType.F32
TILE = Tile[4, 16, F32]


@kernel(cpp_src="y[0] = x[0] + 1; cycles = 10;")
def ten(x: In[Tile[1, 8, F32]], y: Out[Tile[1, 8, F32]]):
    """Reports exactly 10 cycles."""


@kernel(cpp_src="y[0] = x[0] * 2; cycles = 5;")
def five(x: In[Tile[1, 8, F32]], y: Out[Tile[1, 8, F32]]):
    """Reports exactly 5 cycles."""


@kernel
def load(src: In[TILE], buf: Out[TILE]):
    pto.store(buf, pto.mov(src))


@kernel
def compute(buf: In[TILE], result: Out[TILE]):
    pto.store(result, pto.exp(buf))

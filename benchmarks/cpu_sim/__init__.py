"""cpu_sim artifact benchmarks (compile cache, tile kernels vs numpy, task throughput).

Run them all with ``python benchmarks/run_cpu_sim.py``; see docs/performance.md.
"""

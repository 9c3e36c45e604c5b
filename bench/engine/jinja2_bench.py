#!/usr/bin/env python3
"""Jinja2 beside switchboard's engine: compile and evaluate the same expressions as
crates/engine/benches/engine.rs (EXPRESSIONS), with the same data.

Run: python3 bench/engine/jinja2_bench.py   (pip install jinja2)

A `{{ expr }}` that is the whole input compiles with Environment.compile_expression (a
typed result, as the engine does); text with embedded expressions compiles as a template.
"""
import timeit

import jinja2

EXPRESSIONS = [
    ("path", "{{ Customer.tier }}"),
    ("compare", "{{ Amount > 100 and Customer.tier == 'gold' }}"),
    ("arithmetic", "{{ (Amount * 1.2) | round(2) }}"),
    ("text", "Hello {{ Customer.name }}, you owe {{ Amount }} dollars."),
    ("filters", "{{ Customer.name | upper | replace('A', '4') }}"),
]
DATA = {"Customer": {"name": "Ada", "tier": "gold"}, "Amount": 150.5}

env = jinja2.Environment(undefined=jinja2.ChainableUndefined)


def compile_one(src):
    inner = src[2:-2]
    if src.startswith("{{") and src.endswith("}}") and "{{" not in inner:
        return env.compile_expression(inner.strip(), undefined_to_none=False)
    template = env.from_string(src)
    return lambda **kw: template.render(**kw)


def best(fn, number):
    # Best of 5 repeats, per call, in microseconds.
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


print(f"jinja2 {jinja2.__version__}")
print(f"{'expression':<12} {'compile µs':>11} {'evaluate µs':>12}  result")
for label, src in EXPRESSIONS:
    compiled = compile_one(src)
    # Jinja2 caches templates by source: clear it so every compile is a real one.
    c = best(lambda: (env.cache.clear() if env.cache is not None else None, compile_one(src)), 200)
    e = best(lambda: compiled(**DATA), 20000)
    print(f"{label:<12} {c:>11.2f} {e:>12.3f}  {compiled(**DATA)!r}")

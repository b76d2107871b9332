"""Every bad input of the three trace endpoints (convolution, pooling, transposed convolution)
is refused with a 422 whose sentence names the problem, before any trace is computed; so
are non-finite numbers and malformed JSON."""

from __future__ import annotations

import pytest

from app.ops.conv import LIMITS
from app.ops.pool import LIMITS as POOL_LIMITS
from tests.utils.work import assert_refused, forbid_traces

D2L = {"input": [[0, 1, 2], [3, 4, 5], [6, 7, 8]], "kernel": [[0, 1], [2, 3]]}
LEONG = [[12, 20, 30, 0], [8, 12, 2, 0], [34, 70, 37, 4], [112, 100, 25, 12]]
BODY = {"input": LEONG, "kind": "max", "size": 2}
SLIDE = {"input": [[1, 0], [2, 3]], "kernel": [[0, 1], [1, 0]], "stride": 2}


CONVOLUTION = [
    ({**D2L, "input": [[0, 1, 2], [3, 4]]}, "input[1] has 2 entries where 3 were expected"),
    ({**D2L, "input": [[0, "x"], [1, 2]]}, "input[0][1] is the text 'x', not a number"),
    ({**D2L, "kernel": [[0, None], [1, 2]]}, "kernel[0][1] is null, not a number"),
    ({**D2L, "input": []}, "input is empty"),
    ({**D2L, "input": [[]]}, "input is empty"),
    ({**D2L, "kernel": [[[1]], [[1]]]}, "kernel has 2 input channels but the input has 1"),
    ({**D2L, "kernel": [[1] * 4] * 4}, "the 4×4 kernel is larger than the padded input (3×3)"),
    ({**D2L, "dilation": 3}, "dilated to 4×4, is larger than the padded input"),
    ({**D2L, "stride": 0}, "stride must be at least 1 (got 0)"),
    ({**D2L, "stride": [1, 0]}, "stride must be at least 1 (got 0)"),
    ({**D2L, "padding": -1}, "padding must be at least 0 (got -1)"),
    ({**D2L, "dilation": 0}, "dilation must be at least 1 (got 0)"),
    ({**D2L, "stride": "2"}, "stride must be a whole number"),
    ({**D2L, "bias": [1, 2]}, "bias has 2 values but there are 1 output channels"),
    ({**D2L, "bias": "x"}, "bias must be a number or a list of numbers"),
    ({**D2L, "flip": "yes"}, "flip: Input should be a valid boolean"),
    ({**D2L, "input": [[0] * 65] * 3}, "input is 3×65; the limit is 64×64 per channel"),
    (
        {**D2L, "input": [[[0]]] * 17, "kernel": [[[1]]] * 17},
        "input has 17 channels; the limit is 16",
    ),
    ({**D2L, "kernel": [[0] * 12] * 12}, "kernel is 12×12; the limit is 11×11"),
    ({**D2L, "kernel": [[[[1]]]] * 17}, "kernel has 17 output channels; the limit is 16"),
    ({**D2L, "padding": LIMITS.max_padding + 1}, f"padding must be at most {LIMITS.max_padding}"),
    (
        {"input": [[[0] * 64] * 64] * 16, "kernel": [[[[1] * 3] * 3] * 16] * 2, "padding": 1},
        "this trace would have 1,179,648 multiplications; the limit is 300,000",
    ),
    ({"kernel": [[1]]}, "input is required"),
    ({**D2L, "strides": 2}, "Unknown field 'strides'"),
]

POOLING = [
    ({**BODY, "input": [[1, 2], [3]]}, "input[1] has 1 entries where 2 were expected"),
    ({**BODY, "input": [[1, "x"]]}, "input[0][1] is the text 'x', not a number"),
    ({**BODY, "kind": "median"}, "unknown kind 'median': use max, avg or sum"),
    ({**BODY, "kind": 3}, "unknown kind 3: use max, avg or sum"),
    ({**BODY, "size": 5}, "the 5×5 window is larger than the padded input (4×4)"),
    ({**BODY, "size": 3, "padding": 2}, "padding must be at most half the window"),
    ({**BODY, "stride": 0}, "stride must be at least 1 (got 0)"),
    ({**BODY, "padding": -1}, "padding must be at least 0 (got -1)"),
    ({**BODY, "size": [2, 2, 2]}, "size must be one integer or two"),
    ({**BODY, "size": 2.5}, "size must be a whole number"),
    (
        {**BODY, "size": POOL_LIMITS.max_window + 1},
        f"size must be at most {POOL_LIMITS.max_window}",
    ),
    ({**BODY, "input": [[0] * 65] * 2}, "input is 2×65; the limit is 64×64 per channel"),
    ({**BODY, "input": [[[0]]] * 17}, "input has 17 channels; the limit is 16"),
    (
        {"input": [[[0] * 64] * 64] * 16, "kind": "avg", "size": 3, "stride": 1},
        "this trace would read 553,536 values; the limit is 300,000",
    ),
    ({"input": LEONG, "kind": "max"}, "size is required"),
    ({**BODY, "window": 2}, "Unknown field 'window'"),
]

TRANSPOSED = [
    ({**SLIDE, "input": [[1, 0], [2]]}, "input[1] has 1 entries where 2 were expected"),
    ({**SLIDE, "kernel": [[0, "a"], [1, 0]]}, "kernel[0][1] is the text 'a', not a number"),
    ({**SLIDE, "stride": 0}, "stride must be at least 1 (got 0)"),
    ({**SLIDE, "padding": -1}, "padding must be at least 0 (got -1)"),
    ({**SLIDE, "dilation": 0}, "dilation must be at least 1 (got 0)"),
    ({**SLIDE, "output_padding": 2}, "output_padding must be smaller than the stride (2 ≥ 2"),
    ({**SLIDE, "stride": 1, "output_padding": 1}, "output_padding must be smaller than"),
    ({**SLIDE, "output_padding": -1}, "output_padding must be at least 0 (got -1)"),
    ({**SLIDE, "padding": 3}, "padding 3 crops 2·3 = 6 rows from a result 4 rows long"),
    ({**SLIDE, "kernel": [[[1]]]}, "kernel must be kh×kw or C_in×C_out×kh×kw"),
    ({**SLIDE, "kernel": [[[[1]]], [[[1]]]]}, "kernel has 2 input channels (its first axis)"),
    ({**SLIDE, "bias": [1, 2]}, "bias has 2 values but there are 1 output channels"),
    ({**SLIDE, "stride": 5}, "stride must be at most 4"),
    ({**SLIDE, "input": [[0] * 17]}, "input is 1×17; the limit is 16×16 per channel"),
    ({**SLIDE, "kernel": [[0] * 8] * 8}, "kernel is 8×8; the limit is 7×7"),
    (
        {"input": [[[1] * 16] * 16] * 8, "kernel": [[[[1] * 7] * 7] * 8] * 8},
        "this trace would have 802,816 multiplications; the limit is 300,000",
    ),
    ({"kernel": [[1]]}, "input is required"),
    ({**SLIDE, "groups": 2}, "Unknown field 'groups'"),
]

CONV, POOL, TRANSPOSED_URL = "/api/convolution", "/api/pooling", "/api/transposed-convolution"
URLS = {"convolution": CONV, "pooling": POOL, "transposed": TRANSPOSED_URL}
TABLES = {"convolution": CONVOLUTION, "pooling": POOLING, "transposed": TRANSPOSED}
CASES = [(URLS[name], body, message) for name, table in TABLES.items() for body, message in table]
RAW = [
    (URLS["convolution"], '{"input": [[NaN, 1], [2, 3]], "kernel": [[1]]}', "input[0][0] is nan"),
    (URLS["convolution"], '{"input": [[Infinity, 1]], "kernel": [[1]]}', "input[0][0] is inf"),
    (URLS["convolution"], '{"input": [[1, 2]], "kernel": [[-Infinity]]}', "kernel[0][0] is -inf"),
    (URLS["convolution"], '{"input": [[1, 2]], "kernel": [[1]], "bias": NaN}', "bias is nan"),
    (
        URLS["convolution"],
        '{"input": [[1, 2]], "kernel": [[1]]',
        "The request body is not valid JSON",
    ),
    (URLS["convolution"], "[1, 2, 3]", "The request body must be a JSON object"),
    (URLS["convolution"], "", "A request body is required"),
    (URLS["pooling"], '{"input": [[NaN, 1]], "kind": "max", "size": 1}', "input[0][0] is nan"),
    (URLS["pooling"], '{"input": [[1, Infinity]], "kind": "max", "size": 1}', "input[0][1] is inf"),
    (URLS["pooling"], '{"input": [[1]], "kind": "max"', "The request body is not valid JSON"),
    (URLS["transposed"], '{"input": [[NaN]], "kernel": [[1]]}', "input[0][0] is nan"),
    (URLS["transposed"], '{"input": [[1]], "kernel": [[-Infinity]]}', "kernel[0][0] is -inf"),
    (URLS["transposed"], '{"input": [[1]], "kernel": [[1]], "bias": NaN}', "bias is nan"),
]


def case_id(url: str, message: str) -> str:
    return f"{url.rsplit('/', 1)[1]}: {message[:40]}"


@pytest.mark.parametrize(
    ("url", "body", "message"), CASES, ids=[case_id(u, m) for u, _, m in CASES]
)
def test_bad_input_gets_422_naming_the_problem_before_any_work(
    client, monkeypatch, url, body, message
):
    forbid_traces(monkeypatch)
    assert_refused(client, url, message, body=body)


@pytest.mark.parametrize(("url", "raw", "message"), RAW, ids=[case_id(u, m) for u, _, m in RAW])
def test_non_finite_numbers_and_malformed_json_are_refused(client, url, raw, message):
    assert_refused(client, url, message, raw=raw)

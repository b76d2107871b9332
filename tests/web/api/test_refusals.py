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
    ({**SLIDE, "output_padding": 2}, "smaller than the stride or the dilation (2 ≥ 2 for"),
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


# --- numbers too large for float32, anywhere a number goes -----------------------------------

HUGE = int("9" * 400)  # Python reads it; float32 (and float64) cannot hold it
FOUR_HUNDRED = "999999…9999 (400 digits)"
EXTREME = [
    ("/api/convolution", {**D2L, "input": [[HUGE]]}, f"input[0][0] is {FOUR_HUNDRED}: too large"),
    ("/api/convolution", {**D2L, "kernel": [[HUGE]]}, f"kernel[0][0] is {FOUR_HUNDRED}"),
    ("/api/convolution", {**D2L, "bias": HUGE}, f"bias is {FOUR_HUNDRED}: too large"),
    ("/api/convolution", {**D2L, "input": [[1e39]]}, "input[0][0] is 1e+39: too large"),
    (
        "/api/convolution",
        {"input": [[1e38, 1e38]], "kernel": [[10, 10]]},
        "a channel's sum of products overflows: a value reaches 2e+39",
    ),
    ("/api/pooling", {**BODY, "input": [[HUGE]]}, f"input[0][0] is {FOUR_HUNDRED}"),
    (
        "/api/pooling/shift",
        {"input": [[1, 2], [3, 4]], "kernel": [[HUGE]], "shift": "right"},
        f"kernel[0][0] is {FOUR_HUNDRED}",
    ),
    ("/api/transposed-convolution", {**SLIDE, "input": [[1e300]]}, "input[0][0] is 1e+300"),
    (
        "/api/transposed-convolution",
        {"input": [[3e38]], "kernel": [[3e38]]},
        "the output overflows",
    ),
    ("/api/activations/curve", {"function": "elu", "alpha": HUGE}, f"(got {FOUR_HUNDRED})"),
    ("/api/activations/apply", {"function": "relu", "input": [[HUGE]]}, "too large"),
    (
        "/api/activations/apply",
        {"function": "leaky_relu", "negative_slope": HUGE, "input": [[1]]},
        f"negative_slope must be between 0 and 1 (got {FOUR_HUNDRED})",
    ),
    (
        "/api/kernels",
        {"image": "sample-chelsea", "kernel": [[1e37]], "padding": 0},
        "the filtered image overflows",
    ),
    ("/api/kernels", {"image": "sample-chelsea", "kernel": [[1e300]]}, "kernel[0][0] is 1e+300"),
    (
        "/api/kernels/pixel",
        {"image": "sample-chelsea", "kernel": "sharpen", "row": HUGE, "col": 0},
        f"pixel (row {FOUR_HUNDRED}, column 0) is outside",
    ),
    (
        "/api/models/lenet5/layers/conv1/channels/0/maximize",
        {"steps": 2, "seed": HUGE},
        f"seed must be a whole number from 0 to 2,147,483,647 (got {FOUR_HUNDRED})",
    ),
]


@pytest.mark.parametrize(("url", "body", "message"), EXTREME, ids=[m[:40] for _, _, m in EXTREME])
def test_numbers_too_large_for_float32_are_a_422_that_shortens_them(client, url, body, message):
    response = client.post(url, json=body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert message in detail
    assert "9" * 21 not in detail  # never the 400 digits echoed back


@pytest.mark.parametrize(("url", "body"), [("/api/convolution", D2L), ("/api/pooling", BODY)])
def test_a_huge_unknown_field_is_named_shortened(client, url, body):
    name = "window" * 2000
    response = client.post(url, json={**body, name: 1})
    assert response.status_code == 422, response.text
    assert "Unknown field 'windowwindow" in response.json()["detail"]
    assert len(response.content) < 1000  # neither the sentence nor the errors echo it whole


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"/api/models/lenet5/saliency?method=gradient&target={HUGE}", "from 0 to 9"),
        (f"/api/models/lenet5/saliency?method=smoothgrad&samples={HUGE}", "from 1 to 100"),
        (f"/api/models/lenet5/saliency?method=smoothgrad&seed={HUGE}", "from 0 to 2,147,483,647"),
        (f"/api/models/lenet5/predict?k={HUGE}", "k must be a whole number from 1 to 10"),
    ],
)
def test_huge_query_numbers_are_a_422_that_shortens_them(client, url, message):
    response = client.post(url, files={"image_id": (None, "sample-mnist-3")})
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]
    assert FOUR_HUNDRED in response.json()["detail"]


@pytest.mark.parametrize(
    "url",
    [
        f"/api/images/sample-chelsea/pixels?top={HUGE}",
        f"/api/models/lenet5/layers/conv1/activations?image=sample-mnist-3&page={HUGE}",
        f"/api/models/lenet5/layers/conv1/unit?image=sample-mnist-3&channel={HUGE}&row=0&col=0",
    ],
)
def test_huge_numbers_in_a_get_are_a_422_that_shortens_them(client, url):
    response = client.get(url)
    assert response.status_code == 422, response.text
    assert FOUR_HUNDRED in response.json()["detail"]


# --- one rule for types: strict -----------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "body", "message"),
    [
        (
            "/api/kernels/pixel",
            {"image": "sample-chelsea", "kernel": "sharpen", "row": "3", "col": 0},
            "row: Input should be a valid integer",
        ),
        (
            "/api/kernels/pixel",
            {"image": "sample-chelsea", "kernel": "sharpen", "row": True, "col": 0},
            "row: Input should be a valid integer",
        ),
        (
            "/api/models/lenet5/layers/conv1/channels/0/maximize",
            {"steps": "3"},
            "steps: Input should be a valid integer",
        ),
        (
            "/api/models/lenet5/layers/conv1/channels/0/maximize",
            {"size": True},
            "size: Input should be a valid integer",
        ),
        ("/api/convolution", {**D2L, "flip": 1}, "flip: Input should be a valid boolean"),
    ],
)
def test_text_and_booleans_are_not_numbers_anywhere(client, url, body, message):
    assert_refused(client, url, message, body=body)

import pytest
import torch

from methods.core.errors import ConfigError
from methods.models.small_cnn import SmallCNN
from methods.quantization.int8 import int8_model


def test_static_int8_cnn_runs_quantized_kernels_and_stays_close(int8_engine):
    torch.manual_seed(0)
    model = SmallCNN(1, 10, (8, 16), 28).eval()
    x = torch.randn(64, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    q, path = int8_model(model, x, int8_engine)
    assert path == "static"
    assert any("quantized" in type(m).__module__ for m in q.modules())
    with torch.no_grad():
        ref, out = model(x), q(x)
    assert (out - ref).abs().max() < 0.1 * ref.abs().max()


def test_dynamic_int8_for_linear_only_models(float_mlp, digits, int8_engine):
    x = digits[2]
    q, path = int8_model(float_mlp, x[:64], int8_engine)
    assert path == "dynamic"
    with torch.no_grad():
        agree = (q(x).argmax(1) == float_mlp(x).argmax(1)).float().mean()
    assert agree > 0.98


def test_empty_calibration_is_an_error(float_mlp):
    with pytest.raises(ConfigError, match="calibration_set"):
        int8_model(float_mlp, torch.empty(0, 64), "qnnpack")

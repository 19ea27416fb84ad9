import pytest
import torch

from methods.core.measure import count_parameters, flops_per_example
from methods.models.resnet_cifar import resnet20, resnet56
from methods.models.resnet_imagenet import resnet18
from methods.models.small_cnn import SmallCNN
from methods.models.training import TrainConfig, accuracy, crop_flip, train_classifier


@pytest.mark.parametrize("build,paper_millions", [(resnet20, 0.27), (resnet56, 0.85)])
def test_resnet_parameter_counts_match_he_et_al_table6(build, paper_millions):
    assert round(count_parameters(build()) / 1e6, 2) == paper_millions


def test_resnet20_flops_match_its_known_41_mmacs():
    flops = flops_per_example(resnet20(), torch.zeros(1, 3, 32, 32))
    assert 40e6 < flops / 2 < 42e6  # 40.8 M multiply-adds


def test_resnet18_has_11_689_512_parameters_1000_logits_and_he_et_al_table1_flops():
    model = resnet18().eval()
    assert count_parameters(model) == 11_689_512
    with torch.no_grad():
        assert model(torch.zeros(2, 3, 224, 224)).shape == (2, 1000)
    assert round(flops_per_example(model, torch.zeros(1, 3, 224, 224)) / 2e9, 1) == 1.8  # Table 1: 1.8e9 multiply-adds


def test_resnet18_downsamples_by_32_and_takes_any_class_count():
    model = resnet18(classes=7).eval()
    stem = torch.nn.Sequential(model.conv1, model.bn1, torch.nn.ReLU(), model.maxpool)
    with torch.no_grad():
        features = model.layer4(model.layer3(model.layer2(model.layer1(stem(torch.zeros(1, 3, 224, 224))))))
        assert features.shape == (1, 512, 7, 7)
        assert model(torch.zeros(1, 3, 64, 64)).shape == (1, 7)


def test_crop_flip_keeps_shape_and_content_statistics():
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    out = crop_flip(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    assert out.abs().sum() <= x.abs().sum()  # zero padding can only remove mass


def _toy_task(seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(256, 1, 12, 12, generator=generator)
    y = (x[:, 0, :6].mean((1, 2)) > x[:, 0, 6:].mean((1, 2))).long()
    return x, y


def test_training_learns_a_separable_task():
    torch.manual_seed(0)
    x, y = _toy_task()
    model = SmallCNN(1, 2, (4, 8), 12)
    train_classifier(model, x, y, TrainConfig(epochs=15, batch_size=32, lr=0.05), seed=0, run_name="toy")
    assert accuracy(model, x, y) > 90


def test_resume_from_checkpoint_gives_exactly_the_uninterrupted_weights(tmp_path):
    x, y = _toy_task()
    config = TrainConfig(epochs=4, batch_size=32, lr=0.05, milestones=(2,))

    torch.manual_seed(0)
    full = SmallCNN(1, 2, (4, 8), 12)
    train_classifier(full, x, y, config, seed=3, run_name="full")

    torch.manual_seed(0)
    first = SmallCNN(1, 2, (4, 8), 12)
    ckpt = tmp_path / "checkpoint.pt"
    train_classifier(first, x, y, TrainConfig(epochs=2, batch_size=32, lr=0.05, milestones=(2,)), seed=3,
                     run_name="part", checkpoint=ckpt)
    torch.manual_seed(123)  # a restarted process starts with other RNG state
    resumed = SmallCNN(1, 2, (4, 8), 12)
    train_classifier(resumed, x, y, config, seed=3, run_name="resumed", checkpoint=ckpt)
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


def test_nan_loss_stops_with_the_run_and_step():
    from methods.core.errors import TrainingDiverged

    x, y = _toy_task()
    model = SmallCNN(1, 2, (4, 8), 12)
    with pytest.raises(TrainingDiverged, match="run toy-nan: loss became nan at step 0"):
        train_classifier(model, x, y, TrainConfig(epochs=1, batch_size=32, lr=0.05), seed=0, run_name="toy-nan",
                         loss_fn=lambda m, xb, yb: m(xb).sum() * float("nan"))

"""A bad config fails before any job starts, naming the key, and leaves nothing behind."""

from __future__ import annotations

import pytest
import yaml

from workflowkit import snakemake

CASES = {
    "wrong type": ({"seeds": "three"}, "'three' is not of type"),
    "unknown key": ({"colour": "red"}, "'colour' was unexpected"),
    "out of range": ({"seeds": 0}, "less than the minimum of 1"),
    "unknown scale": ({"scale": "huge"}, "'huge' is not one of ['smoke', 'laptop', 'paper']"),
    "unknown study": ({"studies": {"resnet_zoo": {"enabled": True}}}, "config key 'studies': got 'resnet_zoo'"),
    "unknown dataset": ({"studies": {"baselines": {"datasets": ["imagenet"]}}},
                        "config key 'studies.baselines.datasets': got 'imagenet'; allowed: any of ['digits', 'fashion_mnist']"),
    "unknown method": ({"studies": {"baselines": {"methods": ["vit"]}}}, "config key 'studies.baselines.methods': got 'vit'"),
    "unknown study key": ({"studies": {"baselines": {"epochs": 3}}}, "'epochs' was unexpected"),
    "mirrors not a list": ({"mirrors": "/data"}, "'/data' is not of type 'array'"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_config_is_rejected_before_any_job(workflow_dir, name):
    override, message = CASES[name]
    config = yaml.safe_load((workflow_dir / "config" / "config.yaml").read_text())
    for key, value in override.items():
        if key == "studies" and "baselines" in value:
            config["studies"]["baselines"].update(value["baselines"])
        else:
            config[key] = value
    (workflow_dir / "bad.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(workflow_dir, "--cores", "1", "--configfile", "bad.yaml", "--config", "scale=smoke"
                       if name != "unknown scale" else "download=false")
    assert result.returncode != 0
    assert message in result.stdout, result.stdout[-2000:]
    assert not (workflow_dir / "results").exists() and not (workflow_dir / "reports").exists()

from methods.core.config import coerce_cli_strings


def test_cli_strings_become_the_types_the_schema_expects():
    config = {"download": "true", "seeds": "5", "mirrors": ["/data"],
              "studies": {"baselines": {"enabled": "False", "seeds": "null", "datasets": ["digits"]}}}
    assert coerce_cli_strings(config) == {
        "download": True, "seeds": 5, "mirrors": ["/data"],
        "studies": {"baselines": {"enabled": False, "seeds": None, "datasets": ["digits"]}},
    }


def test_other_strings_are_left_for_the_schema_to_judge():
    assert coerce_cli_strings({"seeds": "three", "scale": "laptop"}) == {"seeds": "three", "scale": "laptop"}

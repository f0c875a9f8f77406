"""Level-3 settings (level3_system.settings): explicit arguments > environment > conf/, strict about keys."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from level3_support import RULES
from pydantic import ValidationError
from support import CONF_BASE

from level2_pipeline.contract import DataContract
from level2_pipeline.project import PROJECT_ROOT
from level3_system.settings import Level3Settings, PromotionRules, apply_environment


@pytest.fixture(autouse=True)
def clean_environment() -> Iterator[None]:
    """No CHURN_* or tool variable from the machine (or from MLflow, which exports its URI) leaks in."""
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith("CHURN_") or name in {"MLFLOW_TRACKING_URI", "PREFECT_API_URL"}:
            del os.environ[name]
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_shipped_promotion_rules_refer_to_the_contract(contract: DataContract) -> None:
    shipped = yaml.safe_load((CONF_BASE / "level3.yml").read_text())["level3"]["promotion"]

    rules = PromotionRules.model_validate(shipped)

    assert rules.invariance is not None and rules.directional is not None, "conf/base/level3.yml dropped a check"
    assert rules.invariance.column in contract.features, f"invariance on unknown feature {rules.invariance.column}"
    categories = contract.columns[rules.directional.column].categories or []
    values = {rules.directional.from_value, rules.directional.to_value}
    assert values <= set(categories), f"directional values {values} are not categories of the contract"


def test_environment_overrides_one_nested_key() -> None:
    from_conf = Level3Settings()
    os.environ["CHURN_PROMOTION__MIN_ROC_AUC"] = "0.9"

    settings = Level3Settings()

    assert settings.promotion.min_roc_auc == 0.9
    assert settings.promotion == from_conf.promotion.model_copy(update={"min_roc_auc": 0.9}), (
        "overriding one key lost the other promotion rules from conf/"
    )


def test_mlflow_tracking_uri_is_honoured() -> None:
    os.environ["MLFLOW_TRACKING_URI"] = "http://mlflow.internal:5000"

    settings = Level3Settings()

    assert settings.resolved_tracking_uri == "http://mlflow.internal:5000"
    assert not settings.embedded_mlflow
    assert settings.resolved_artifact_location is None, "with a server, the server decides where artifacts go"


def test_project_variable_wins_over_the_tools() -> None:
    os.environ["MLFLOW_TRACKING_URI"] = "http://mlflow.internal:5000"
    os.environ["CHURN_TRACKING_URI"] = "http://churn-mlflow:5000"

    assert Level3Settings().tracking_uri == "http://churn-mlflow:5000"


def test_explicit_arguments_win_over_the_environment(tmp_path: Path) -> None:
    os.environ["CHURN_DATA_DIR"] = "/somewhere/else"
    os.environ["CHURN_PROMOTION__MIN_ROC_AUC"] = "0.99"

    settings = Level3Settings(data_dir=tmp_path, promotion=RULES)

    assert settings.data_root == tmp_path
    assert settings.promotion == RULES


def test_without_a_server_mlflow_is_embedded_in_the_project() -> None:
    settings = Level3Settings(promotion=RULES)

    assert settings.embedded_mlflow
    assert settings.resolved_tracking_uri == f"sqlite:///{(PROJECT_ROOT / '.mlflow' / 'mlflow.db').as_posix()}"
    assert settings.resolved_artifact_location == (PROJECT_ROOT / ".mlflow" / "artifacts").as_uri()


def test_relative_paths_resolve_against_the_project_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    settings = Level3Settings(data_dir=Path("data"), promotion=RULES)

    assert settings.data_root == PROJECT_ROOT / "data"
    assert settings.reports == PROJECT_ROOT / "data" / "08_reporting" / "level3"


def test_unknown_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="colour"):
        Level3Settings(promotion=RULES, colour="blue")


def test_misspelt_nested_variable_is_refused() -> None:
    os.environ["CHURN_PROMOTION__MIN_AUC"] = "0.9"

    with pytest.raises(ValidationError, match=r"promotion\.min_auc"):
        Level3Settings()


@pytest.mark.parametrize(
    "rules",
    [
        {"min_roc_auc": 1.5, "champion_tolerance": 0.005},
        {"min_roc_auc": 0.8, "champion_tolerance": -0.1},
        {"min_roc_auc": 0.8, "champion_tolerance": 0.005, "invariance": {"column": "female", "max_delta": -1}},
        {"min_roc_auc": 0.8, "champion_tolerance": 0.005, "directional": {"column": "contract", "share": 0.9}},
    ],
    ids=["floor above 1", "negative tolerance", "negative invariance bound", "misspelt directional key"],
)
def test_invalid_promotion_rules_are_refused(rules: dict) -> None:
    with pytest.raises(ValidationError):
        Level3Settings(promotion=rules)


def test_apply_environment_sets_prefect_home_and_turns_telemetry_off(tmp_path: Path) -> None:
    settings = Level3Settings(
        promotion=RULES, prefect_home=tmp_path / "prefect", tracking_uri="sqlite:///" + str(tmp_path / "m.db")
    )
    for name in ("DO_NOT_TRACK", "MLFLOW_DISABLE_TELEMETRY", "PREFECT_SERVER_ANALYTICS_ENABLED"):
        os.environ.pop(name, None)

    apply_environment(settings)

    assert os.environ["PREFECT_HOME"] == str(tmp_path / "prefect")
    assert Path(os.environ["KEDRO_LOGGING_CONFIG"]).is_file()
    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "true", "MLflow ignores the value 1"
    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert os.environ["DO_NOT_TRACK"] == "true"


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("MLFLOW_TRACKING_URI", "garbage:/x", "MLFLOW_TRACKING_URI: expected an MLflow tracking URI"),
        ("CHURN_TRACKING_URI", "ftp://mlflow", "CHURN_TRACKING_URI: expected an MLflow tracking URI"),
        ("PREFECT_API_URL", "127.0.0.1:4200", "PREFECT_API_URL: expected a Prefect API URL"),
        ("CHURN_SCORING__MEMORY_LIMIT", "lots", "CHURN_SCORING__MEMORY_LIMIT: expected a size per worker"),
        ("CHURN_SCORING__SCHEDULER_ADDRESS", "localhost:8786", "expected a Dask scheduler's address"),
    ],
)
def test_a_malformed_tool_variable_is_one_line_naming_it(variable: str, value: str, says: str) -> None:
    from level2_pipeline.errors import ConfigError
    from level3_system.settings import load_settings

    os.environ[variable] = value
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert says in str(refused.value) and "\n" not in str(refused.value), str(refused.value)


def test_servers_that_do_not_answer_are_one_line_before_anything_starts() -> None:
    from level2_pipeline.errors import UserFacingError
    from level3_system.runtime.reachability import require_servers

    for settings, says in (
        (Level3Settings(promotion=RULES, tracking_uri="http://127.0.0.1:1"), "no MLflow server answers"),
        (Level3Settings(promotion=RULES, prefect_api_url="http://127.0.0.1:1/api"), "no Prefect server answers"),
    ):
        with pytest.raises(UserFacingError, match=says):
            require_servers(settings)
    require_servers(Level3Settings(promotion=RULES, prefect_api_url="http://127.0.0.1:1/api"), prefect=False)

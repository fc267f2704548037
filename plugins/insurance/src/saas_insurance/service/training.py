"""Training the tenant's churn model: a logistic regression on its past renewal outcomes.

The data are the policies whose term is over, each with its signals at its end and whether it
was renewed (`churn.past_outcomes`). A fifth is held out (stratified, with a fixed seed, so a
retrain on the same data gives the same model); the model is fitted on the rest, on standardised
features, and its AUC measured on the held-out fifth. Only numbers are kept, in the database:
the intercept, and per feature its coefficient, mean and scale, as decimal strings (no pickle),
so that scoring (`churn.model_risk`) needs no scikit-learn and reads the same model everywhere.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy.orm import Session

from saas_insurance import events
from saas_insurance.errors import InsErrorCode, invalid
from saas_insurance.models import ChurnModel
from saas_insurance.service.churn import FEATURES, Signals, features, past_outcomes

MIN_OUTCOMES = 200
HELD_OUT = 0.2
SEED = 20240601


def trainable(outcomes: list[Signals]) -> bool:
    """At least MIN_OUTCOMES past outcomes, of both kinds (renewed and not)."""
    renewed = sum(1 for s in outcomes if s.renewed)
    return len(outcomes) >= MIN_OUTCOMES and 0 < renewed < len(outcomes)


def check_trainable(outcomes: list[Signals]) -> None:
    """`trainable`, else NOT_ENOUGH_OUTCOMES (for `trainChurnModel`'s userErrors)."""
    renewed = sum(1 for s in outcomes if s.renewed)
    if not trainable(outcomes):
        raise invalid(
            ["trainChurnModel"],
            InsErrorCode.NOT_ENOUGH_OUTCOMES,
            f"{len(outcomes)} past renewal outcomes ({renewed} renewed); at least {MIN_OUTCOMES} of both kinds are needed",
        )


def count_outcomes(session: Session, tenant_id: uuid.UUID) -> list[Signals]:
    outcomes = past_outcomes(session, tenant_id)
    check_trainable(outcomes)
    return outcomes


def fit(outcomes: list[Signals]) -> tuple[Decimal, dict[str, dict[str, str]], Decimal]:
    """(intercept, coefficients by feature, held-out AUC) of a logistic regression predicting churn."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    x = np.array([[float(v) for v in features(s)] for s in outcomes])
    y = np.array([0 if s.renewed else 1 for s in outcomes])
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=HELD_OUT, random_state=SEED, stratify=y)
    mean = x_train.mean(axis=0)
    scale = x_train.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(max_iter=1000).fit((x_train - mean) / scale, y_train)
    auc = roc_auc_score(y_test, model.predict_proba((x_test - mean) / scale)[:, 1])
    coefficients = {
        name: {"coefficient": repr(float(w)), "mean": repr(float(m)), "scale": repr(float(s))}
        for name, w, m, s in zip(FEATURES, model.coef_[0], mean, scale, strict=True)
    }
    return (
        Decimal(repr(float(model.intercept_[0]))),
        coefficients,
        Decimal(repr(float(auc))).quantize(Decimal("0.0001")),
    )


def train(session: Session, tenant_id: uuid.UUID) -> ChurnModel | None:
    """Fit and keep a new model for the tenant (the newest is the one scores use); None, and nothing
    kept, when the outcomes do not suffice (`trainable`: the mutation's check may be stale by then)."""
    outcomes = past_outcomes(session, tenant_id)
    if not trainable(outcomes):
        return None
    intercept, coefficients, auc = fit(outcomes)
    row = ChurnModel(
        id=uuid.uuid4(),
        samples=len(outcomes),
        auc=auc,
        intercept=intercept.quantize(Decimal("0.0000000001")),
        coefficients=coefficients,
    )
    session.add(row)
    session.flush()
    session.refresh(row)
    events.churn_model_trained(session, row)
    return row

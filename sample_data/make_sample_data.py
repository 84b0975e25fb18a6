"""Rebuild the CSV files in this folder (deterministic: fixed seeds).

    python sample_data/make_sample_data.py

The two real datasets come from the copies bundled with scikit-learn; the
three business-like ones are synthetic, generated below with documented rules.
"""

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes

HERE = Path(__file__).parent


def credit_risk(n: int = 5000, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(21, 75, n)
    employment = rng.choice(["salaried", "self-employed", "unemployed", "retired"], n, p=[0.62, 0.2, 0.08, 0.1])
    income = np.round(rng.lognormal(10.6, 0.45, n) * np.where(employment == "unemployed", 0.35, 1.0), -2)
    loan = np.round(rng.gamma(2.2, 6500, n), -2)
    term = rng.choice([12, 24, 36, 48, 60], n)
    history = np.clip(age - 18 - rng.integers(0, 10, n), 0, None)
    home = rng.choice(["rent", "own", "mortgage"], n, p=[0.42, 0.2, 0.38])
    purpose = rng.choice(["car", "home", "education", "business", "other"], n)
    logit = (-2.2 + 2.8 * loan / income - 0.035 * history + 0.9 * (employment == "unemployed")
             + 0.35 * (home == "rent") + 0.3 * (purpose == "business") + 0.01 * (term - 36))
    default = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"age": age, "income": income, "loan_amount": loan, "term_months": term,
                         "credit_history_years": history, "employment": employment,
                         "home_ownership": home, "purpose": purpose, "default": default})


def churn(n: int = 4000, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, n)
    contract = rng.choice(["month-to-month", "one-year", "two-year"], n, p=[0.55, 0.25, 0.2])
    charges = np.round(rng.normal(65, 20, n).clip(18, 120), 2)
    calls = rng.poisson(1.4, n)
    payment = rng.choice(["card", "bank-transfer", "cheque"], n, p=[0.45, 0.4, 0.15])
    logit = (-1.0 - 0.04 * tenure + 0.018 * charges + 0.45 * calls + 1.2 * (contract == "month-to-month")
             - 0.8 * (contract == "two-year") + 0.4 * (payment == "cheque"))
    churned = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"tenure_months": tenure, "monthly_charges": charges, "support_calls": calls,
                         "contract": contract, "payment_method": payment, "churned": churned})


def demand(n: int = 4000, seed: int = 23) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    size = rng.choice([400, 800, 1500, 3000], n)
    price = np.round(rng.uniform(1.5, 6.0, n), 2)
    promo = rng.choice(["yes", "no"], n, p=[0.25, 0.75])
    day = rng.choice(["mon", "tue", "wed", "thu", "fri", "sat", "sun"], n)
    temp = np.round(rng.normal(14, 8, n), 1)
    weekend = np.isin(day, ["sat", "sun"])
    units = (0.05 * size - 18 * price + 35 * (promo == "yes") + 25 * weekend + 1.5 * temp
             + rng.normal(0, 12, n)).clip(0, None).round()
    return pd.DataFrame({"store_size_m2": size, "price": price, "promo": promo, "day_of_week": day,
                         "temperature_c": temp, "units_sold": units})


def breast_cancer() -> pd.DataFrame:
    data = load_breast_cancer(as_frame=True)
    frame = data.frame.rename(columns=lambda c: c.replace(" ", "_"))
    return frame.rename(columns={"target": "benign"})


def diabetes() -> pd.DataFrame:
    data = load_diabetes(as_frame=True, scaled=False)
    return data.frame.rename(columns={"target": "progression"})


if __name__ == "__main__":
    for name, frame in {"credit_risk": credit_risk(), "churn": churn(), "retail_demand": demand(),
                        "breast_cancer": breast_cancer(), "diabetes": diabetes()}.items():
        frame.to_csv(HERE / f"{name}.csv", index=False)
        print(f"{name}.csv: {len(frame)} rows, {frame.shape[1]} columns")

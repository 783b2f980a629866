"""MMD between an autoencoder's codes of held-out images and its prior: how well Q_Z matches P_Z.

The unbiased IMQ estimator the WAE-MMD loss uses (`kgan.mmd.imq_mmd`, one implementation), between the codes of
up to `max_codes` held-out images and as many seeded draws of the prior N(0, I) (the decode direction's latent).
Near 0 when the codes look like prior draws; a plain autoencoder's codes follow no prior and score far above.
"""

from __future__ import annotations

import numpy as np

from kgan.metrics import codes
from kgan.metrics.registry import Headline, Metric, register


def prior_mmd(inputs, max_codes: int = 2000) -> dict:
    from kgan.mmd import imq_mmd

    encoded = codes.codes(inputs)[:max_codes]
    prior = np.random.default_rng(inputs.seed).standard_normal(encoded.shape).astype(np.float32)
    return {"value": float(np.asarray(imq_mmd(encoded, prior))), "num_codes": int(len(encoded)),
            "latent_dim": int(encoded.shape[1]), "kernel": "inverse multiquadratic, 7 scales"}


register(Metric("prior_mmd", {"encoder"}, prior_mmd, [Headline("value", "MMD to prior")], "lower",
                "IMQ MMD (unbiased) between the codes of held-out images and N(0, I) draws"))

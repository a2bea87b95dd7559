"""DRE (Fu et al., TPAMI): differentiated relevance estimator with a skewing distribution controller.

``controller``: the controller C and the densities of its output (eqs. 6-8, 26, 29, 32) with their Monte Carlo
checks; ``generator``: the mask generator, fitting a relevance estimator, the ``dre`` / ``mgnet`` registry entries
and DRE+; ``mpert``: the MPert baseline. The metrics M_F / M_E are in ``metrics.relevance``. Importing this package
registers ``dre``, ``mgnet`` and ``mpert``.
"""
from xai_nb_utils.methods.dre import controller, generator, mpert
from xai_nb_utils.methods.dre.generator import (KINDS, GeneratorConfig, RelevanceEstimator, dre_plus, estimator_key,
                                                fit_relevance_estimator, generator_config)

__all__ = ["controller", "generator", "mpert", "KINDS", "GeneratorConfig", "RelevanceEstimator", "dre_plus",
           "estimator_key", "fit_relevance_estimator", "generator_config"]

"""Saliency methods behind one interface, ``explain(method, model, x, target, **kwargs)``.

Every method module is imported here, explicitly, so that importing ``xai_nb_utils.methods`` registers them all;
a module that fails to import fails loudly instead of silently removing its methods.
"""
from xai_nb_utils.methods import baselines, dre, gax, ggig, igos, opticam  # noqa: F401  (registration)
from xai_nb_utils.methods.registry import MethodSpec, available_methods, explain, method_spec, register_method

__all__ = ["MethodSpec", "available_methods", "explain", "method_spec", "register_method"]

"""The policy profile: every rule, weight, cut-off and target of a city's policy as data.

>>> from landrenew.policy import load_profile
>>> p = load_profile()                       # bundled "changzhou-2022"
>>> p.evaluation.weights("规上")["tax_per_mu"]
40.0
>>> p.rule("tag.low.plot_ratio").clause
'国土资规〔2016〕147号'
"""

from landrenew.policy.diff import Change, diff_profiles
from landrenew.policy.loader import (
    DEFAULT_PROFILE,
    Issue,
    ProfileError,
    list_bundled,
    load_profile,
    parse_profile,
    resolve_profile,
)
from landrenew.policy.schema import (
    City,
    Disposal,
    DisposalRule,
    District,
    Evaluation,
    Profile,
    Rule,
    Surcharges,
    Tag,
    Target,
    When,
)

__all__ = [
    "DEFAULT_PROFILE",
    "Change",
    "City",
    "Disposal",
    "DisposalRule",
    "District",
    "Evaluation",
    "Issue",
    "Profile",
    "ProfileError",
    "Rule",
    "Surcharges",
    "Tag",
    "Target",
    "When",
    "diff_profiles",
    "list_bundled",
    "load_profile",
    "parse_profile",
    "resolve_profile",
]

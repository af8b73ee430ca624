"""The ECR operations moto lacks or gets wrong, written from the ECR API reference.

moto 5.2 has no pull-through cache rules and no repository creation templates (HTTP 500), rejects registry
policies that grant `ecr:BatchImportUpstreamImage` (which pull-through cache for HealthOmics needs), and ignores
`maxResults`/`nextToken`. This module serves those operations over the same state as moto: the registry policy
lives on moto's ECR backend, and the paginated listings call moto for the data and page it here.

Rules and templates are kept per region, and looked up by prefix (rule_for, template_for), so that a later
pull-through pull (BatchGetImage on `<prefix>/...`, ptc.py) finds the rule and the template to apply to the
repository it creates, and a push to a missing repository (registry.py) finds a CREATE_ON_PUSH template.
DescribeImages reports ECR's image size (the layers') instead of moto's (the config's). The operations on the
image store itself (BatchGetImage, PutImage, GetAuthorizationToken, ...) are in registry.py.
"""

import json
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from moto.core.exceptions import JsonRESTError
from moto.ecr.models import ECRBackend, ecr_backends
from moto.secretsmanager.models import SecretsManagerBackend, secretsmanager_backends

import imagestore
from paging import page
from protocol import ApiError

# The ECR API's pattern for a pull-through cache prefix and a template prefix (ROOT: the whole registry).
PREFIX_PATTERN = re.compile(
    r"(?:[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*/?|ROOT)"
)
CREDENTIAL_ARN_PATTERN = re.compile(
    r"arn:aws(?:-\w+)*:secretsmanager:([a-z0-9-]+):(\d{12}):secret:ecr-pullthroughcache/[a-zA-Z0-9/_+=.@-]+"
)

# Upstream registries ECR can cache from: (upstreamRegistry, registry host, whether a credential is required).
UPSTREAMS = (
    ("ecr", re.compile(r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?"), False),
    ("ecr-public", re.compile(r"public\.ecr\.aws"), False),
    ("k8s", re.compile(r"registry\.k8s\.io"), False),
    ("quay", re.compile(r"quay\.io"), False),
    ("docker-hub", re.compile(r"registry-1\.docker\.io"), True),
    ("github-container-registry", re.compile(r"ghcr\.io"), True),
    ("azure-container-registry", re.compile(r"[a-z0-9]+\.azurecr\.io"), True),
    ("gitlab-container-registry", re.compile(r"registry\.gitlab\.com"), True),
    ("chainguard", re.compile(r"cgr\.dev"), False),
)
UPSTREAM_REGISTRIES = tuple(name for name, _, _ in UPSTREAMS)

APPLIED_FOR = ("REPLICATION", "PULL_THROUGH_CACHE", "CREATE_ON_PUSH")
TAG_MUTABILITY = ("MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION")
ENCRYPTION_TYPES = ("AES256", "KMS", "KMS_DSSE")
EXCLUSION_FILTER_PATTERN = re.compile(r"[0-9a-zA-Z._*-]{1,128}")
# The actions a registry policy may grant: replication and pull-through cache.
REGISTRY_POLICY_ACTIONS = {"ecr:replicateimage", "ecr:createrepository", "ecr:batchimportupstreamimage"}


def invalid(name: str, constraint: str) -> ApiError:
    """ECR's wording for a parameter that breaks its constraints."""
    return ApiError(
        "InvalidParameterException", f"Invalid parameter at '{name}' failed to satisfy constraint: '{constraint}'"
    )


def _string(params: dict, name: str, *, required: bool = False, min_len: int = 1, max_len: int = 2048) -> str | None:
    value = params.get(name)
    if value is None:
        if required:
            raise invalid(name, "Member must not be null")
        return None
    if not isinstance(value, str) or not min_len <= len(value) <= max_len:
        raise invalid(name, f"Member must have length between {min_len} and {max_len}")
    return value


def _prefix(params: dict, name: str, *, max_len: int) -> str:
    value = _string(params, name, required=True, min_len=1 if max_len > 30 else 2, max_len=max_len)
    if not PREFIX_PATTERN.fullmatch(value):
        raise invalid(name, f"Member must satisfy regular expression pattern: {PREFIX_PATTERN.pattern}")
    return value


def _json_text(params: dict, name: str, max_len: int) -> str | None:
    text = _string(params, name, min_len=0, max_len=max_len)
    if text:
        try:
            json.loads(text)
        except ValueError:
            raise invalid(name, "Invalid JSON") from None
    return text


def _secrets_backend(credential_arn: str) -> SecretsManagerBackend | None:
    """moto's Secrets Manager for the account and region named in a (valid) credential ARN."""
    region, account = CREDENTIAL_ARN_PATTERN.fullmatch(credential_arn).groups()
    try:
        return secretsmanager_backends[account][region]
    except KeyError:  # not a region moto knows
        return None


def _compact(record: dict, fields: tuple[str, ...]) -> dict:
    """The named fields of `record` that are set, as AWS leaves absent fields out."""
    return {f: record[f] for f in fields if record.get(f) is not None}


@dataclass
class EcrContext:
    """What a handler needs besides its parameters: where it runs and a way to ask moto for the same call."""

    account_id: str
    region: str
    forward: Callable[[dict], dict]  # the same operation served by moto with these parameters

    @property
    def backend(self) -> ECRBackend:
        return ecr_backends[self.account_id][self.region]


# Every operation on a rule answers with the rule's fields (a superset of what some of them document).
RULE_FIELDS = (
    "ecrRepositoryPrefix",
    "upstreamRegistryUrl",
    "createdAt",
    "registryId",
    "credentialArn",
    "customRoleArn",
    "upstreamRepositoryPrefix",
    "upstreamRegistry",
    "updatedAt",
)
TEMPLATE_FIELDS = (
    "prefix",
    "description",
    "encryptionConfiguration",
    "resourceTags",
    "imageTagMutability",
    "imageTagMutabilityExclusionFilters",
    "repositoryPolicy",
    "lifecyclePolicy",
    "appliedFor",
    "customRoleArn",
    "createdAt",
    "updatedAt",
)


class EcrEmulator:
    """Pull-through cache rules, repository creation templates, registry policies and paginated listings."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: dict[str, dict[str, dict]] = defaultdict(dict)  # region -> prefix -> rule
        self._templates: dict[str, dict[str, dict]] = defaultdict(dict)  # region -> prefix -> template
        self._handlers: dict[str, Callable[[EcrContext, dict], dict]] = {
            "CreatePullThroughCacheRule": self._create_rule,
            "DescribePullThroughCacheRules": self._describe_rules,
            "UpdatePullThroughCacheRule": self._update_rule,
            "DeletePullThroughCacheRule": self._delete_rule,
            "ValidatePullThroughCacheRule": self._validate_rule,
            "CreateRepositoryCreationTemplate": self._create_template,
            "DescribeRepositoryCreationTemplates": self._describe_templates,
            "UpdateRepositoryCreationTemplate": self._update_template,
            "DeleteRepositoryCreationTemplate": self._delete_template,
            "PutRegistryPolicy": self._put_registry_policy,
            "GetRegistryPolicy": self._get_registry_policy,
            "DeleteRegistryPolicy": self._delete_registry_policy,
            "DescribeRepositories": self._describe_repositories,
            "ListImages": self._list_images,
            "DescribeImages": self._describe_images,
        }

    def handles(self, operation: str) -> bool:
        return operation in self._handlers

    def handle(self, operation: str, ctx: EcrContext, params: dict) -> dict:
        registry_id = params.get("registryId")
        if registry_id is not None and registry_id != ctx.account_id:
            raise invalid("registryId", f"the registry id must be this account's ({ctx.account_id})")
        with self._lock:
            return self._handlers[operation](ctx, params)

    def reset(self) -> None:
        with self._lock:
            self._rules.clear()
            self._templates.clear()

    def rule_for(self, region: str, repository_name: str) -> dict | None:
        """The pull-through cache rule covering a repository name: the longest prefix `p` with the name under `p/`,
        else a ROOT rule; None when no rule covers it."""
        with self._lock:
            return self._longest_prefix(self._rules[region], repository_name, lambda _: True)

    def template_for(self, region: str, repository_name: str, applied_for: str) -> dict | None:
        """The repository creation template ECR applies when it creates `repository_name` for `applied_for`
        (PULL_THROUGH_CACHE, CREATE_ON_PUSH, REPLICATION): the longest matching prefix, else ROOT."""
        with self._lock:
            return self._longest_prefix(
                self._templates[region], repository_name, lambda t: applied_for in t.get("appliedFor", [])
            )

    @staticmethod
    def _longest_prefix(by_prefix: dict[str, dict], name: str, wanted: Callable[[dict], bool]) -> dict | None:
        matches = [
            p for p, item in by_prefix.items() if p != "ROOT" and name.startswith(p.rstrip("/") + "/") and wanted(item)
        ]
        if matches:
            return dict(by_prefix[max(matches, key=len)])
        root = by_prefix.get("ROOT")
        return dict(root) if root is not None and wanted(root) else None

    def plant_template_policy(self, region: str, prefix: str, policy_text: str) -> None:
        """Sets a template's repositoryPolicy without any check (to test how invalid JSON in an account is handled)."""
        with self._lock:
            template = self._templates[region].get(prefix)
            if template is None:
                raise KeyError(prefix)
            template["repositoryPolicy"] = policy_text

    # Pull-through cache rules

    def _rule(self, ctx: EcrContext, prefix: str) -> dict:
        rule = self._rules[ctx.region].get(prefix)
        if rule is None:
            raise ApiError(
                "PullThroughCacheRuleNotFoundException",
                f"The pull through cache rule with prefix '{prefix}' does not exist in the registry with id "
                f"'{ctx.account_id}'",
            )
        return rule

    @staticmethod
    def _check_credential(params: dict) -> str | None:
        """Validates credentialArn and checks the secret exists, as ECR does when a rule is written."""
        arn = _string(params, "credentialArn", min_len=50, max_len=612)
        if arn is None:
            return None
        match = CREDENTIAL_ARN_PATTERN.fullmatch(arn)
        if not match:
            raise invalid(
                "credentialArn",
                "Member must be a Secrets Manager secret ARN whose name starts with 'ecr-pullthroughcache/'",
            )
        backend = _secrets_backend(arn)
        if backend is None or arn not in backend.secrets:
            raise ApiError("SecretNotFoundException", f"The secret '{arn}' was not found in Secrets Manager")
        return arn

    def _create_rule(self, ctx: EcrContext, params: dict) -> dict:
        prefix = _prefix(params, "ecrRepositoryPrefix", max_len=30)
        url = _string(params, "upstreamRegistryUrl", required=True)
        upstream, needs_credential = next(
            ((name, auth) for name, host, auth in UPSTREAMS if host.fullmatch(url)), (None, False)
        )
        if upstream is None:
            raise ApiError("UnsupportedUpstreamRegistryException", f"The upstream registry '{url}' is not supported")
        declared = params.get("upstreamRegistry")
        if declared is not None and declared not in UPSTREAM_REGISTRIES:
            raise invalid("upstreamRegistry", f"Member must satisfy enum value set: {list(UPSTREAM_REGISTRIES)}")
        if declared is not None and declared != upstream:
            raise invalid("upstreamRegistry", f"'{declared}' does not match the upstream registry URL '{url}'")
        if params.get("upstreamRepositoryPrefix") is not None:
            _prefix(params, "upstreamRepositoryPrefix", max_len=30)
        credential = self._check_credential(params)
        if needs_credential and credential is None:
            raise invalid("credentialArn", f"A credential is required for the upstream registry '{url}'")
        if prefix in self._rules[ctx.region]:
            raise ApiError(
                "PullThroughCacheRuleAlreadyExistsException",
                f"A pull through cache rule with prefix '{prefix}' already exists in the registry with id "
                f"'{ctx.account_id}'",
            )
        rule = {
            "ecrRepositoryPrefix": prefix,
            "upstreamRegistryUrl": url,
            "createdAt": time.time(),
            "registryId": ctx.account_id,
            "credentialArn": credential,
            "customRoleArn": _string(params, "customRoleArn", max_len=2048),
            "upstreamRepositoryPrefix": params.get("upstreamRepositoryPrefix"),
            "upstreamRegistry": upstream,
        }
        self._rules[ctx.region][prefix] = rule
        return _compact(rule, RULE_FIELDS)

    def _describe_rules(self, ctx: EcrContext, params: dict) -> dict:
        wanted = params.get("ecrRepositoryPrefixes")
        if wanted is None:
            rules = [self._rules[ctx.region][p] for p in sorted(self._rules[ctx.region])]
        else:
            if not isinstance(wanted, list) or not 1 <= len(wanted) <= 100:
                raise invalid("ecrRepositoryPrefixes", "Member must have length between 1 and 100")
            for prefix in wanted:
                _prefix({"ecrRepositoryPrefixes": prefix}, "ecrRepositoryPrefixes", max_len=30)
            rules = [self._rule(ctx, prefix) for prefix in sorted(set(wanted))]
        scope = f"DescribePullThroughCacheRules:{wanted}"
        items, token = page(rules, params.get("maxResults"), params.get("nextToken"), scope=scope)
        result = {"pullThroughCacheRules": [_compact(r, RULE_FIELDS) for r in items]}
        if token:
            result["nextToken"] = token
        return result

    def _update_rule(self, ctx: EcrContext, params: dict) -> dict:
        prefix = _prefix(params, "ecrRepositoryPrefix", max_len=30)
        rule = self._rule(ctx, prefix)
        credential = self._check_credential(params)
        role = _string(params, "customRoleArn", max_len=2048)
        if credential is not None:
            rule["credentialArn"] = credential
        if role is not None:
            rule["customRoleArn"] = role
        rule["updatedAt"] = time.time()
        return _compact(rule, RULE_FIELDS)

    def _delete_rule(self, ctx: EcrContext, params: dict) -> dict:
        prefix = _prefix(params, "ecrRepositoryPrefix", max_len=30)
        rule = self._rule(ctx, prefix)
        del self._rules[ctx.region][prefix]
        return _compact(rule, RULE_FIELDS)

    def _validate_rule(self, ctx: EcrContext, params: dict) -> dict:
        rule = self._rule(ctx, _prefix(params, "ecrRepositoryPrefix", max_len=30))
        failure = self._credential_failure(rule.get("credentialArn"))
        result = {**_compact(rule, RULE_FIELDS), "isValid": failure is None}
        if failure:
            result["failure"] = failure
        return result

    @staticmethod
    def _credential_failure(arn: str | None) -> str | None:
        """Why the rule's secret cannot authenticate to the upstream, or None when it can (or none is needed)."""
        if arn is None:
            return None
        try:  # the region is known: the secret existed when the rule was written
            value = _secrets_backend(arn).get_secret_value(arn, None, None).get("SecretString")
        except JsonRESTError as exc:
            return f"Unable to read the secret '{arn}': {exc.message}"
        try:
            document = json.loads(value or "")
        except ValueError:
            document = None
        if not isinstance(document, dict) or not {"username", "accessToken"} <= document.keys():
            return f"The secret '{arn}' must be a JSON object with 'username' and 'accessToken'"
        return None

    # Repository creation templates

    def _template(self, ctx: EcrContext, prefix: str) -> dict:
        template = self._templates[ctx.region].get(prefix)
        if template is None:
            raise ApiError(
                "TemplateNotFoundException", f"The repository creation template with prefix '{prefix}' does not exist"
            )
        return template

    @staticmethod
    def _template_settings(params: dict) -> dict:
        """Validates the settable template fields that are present in `params`; returns just those."""
        settings: dict = {}
        if "description" in params:
            settings["description"] = _string(params, "description", min_len=0, max_len=256)
        if "encryptionConfiguration" in params:
            config = params["encryptionConfiguration"]
            if not isinstance(config, dict) or config.get("encryptionType") not in ENCRYPTION_TYPES:
                raise invalid(
                    "encryptionConfiguration.encryptionType",
                    f"Member must satisfy enum value set: {list(ENCRYPTION_TYPES)}",
                )
            if config.get("kmsKey") and config["encryptionType"] == "AES256":
                raise invalid("encryptionConfiguration.kmsKey", "A KMS key can only be given with KMS encryption")
            settings["encryptionConfiguration"] = config
        if "resourceTags" in params:
            tags = params["resourceTags"]
            if not isinstance(tags, list) or not all(isinstance(t, dict) and set(t) == {"Key", "Value"} for t in tags):
                raise invalid("resourceTags", "Each tag must have exactly a Key and a Value")
            settings["resourceTags"] = tags
        if "imageTagMutability" in params:
            if params["imageTagMutability"] not in TAG_MUTABILITY:
                raise invalid("imageTagMutability", f"Member must satisfy enum value set: {list(TAG_MUTABILITY)}")
            settings["imageTagMutability"] = params["imageTagMutability"]
        if "imageTagMutabilityExclusionFilters" in params:
            filters = params["imageTagMutabilityExclusionFilters"]
            if (
                not isinstance(filters, list)
                or not 1 <= len(filters) <= 5
                or not all(
                    isinstance(f, dict)
                    and f.get("filterType") == "WILDCARD"
                    and EXCLUSION_FILTER_PATTERN.fullmatch(str(f.get("filter", "")))
                    for f in filters
                )
            ):
                raise invalid("imageTagMutabilityExclusionFilters", "1 to 5 WILDCARD filters of [0-9a-zA-Z._*-]{1,128}")
            settings["imageTagMutabilityExclusionFilters"] = filters
        if "repositoryPolicy" in params:
            settings["repositoryPolicy"] = _json_text(params, "repositoryPolicy", 10240)
        if "lifecyclePolicy" in params:
            settings["lifecyclePolicy"] = _json_text(params, "lifecyclePolicy", 30720)
        if "appliedFor" in params:
            applied = params["appliedFor"]
            if not isinstance(applied, list) or not applied or not set(applied) <= set(APPLIED_FOR):
                raise invalid("appliedFor", f"Member must be a non-empty list of {list(APPLIED_FOR)}")
            settings["appliedFor"] = list(dict.fromkeys(applied))
        if "customRoleArn" in params:
            settings["customRoleArn"] = _string(params, "customRoleArn", max_len=2048)
        return settings

    @staticmethod
    def _check_mutability(template: dict) -> None:
        with_exclusion = template.get("imageTagMutability", "").endswith("_WITH_EXCLUSION")
        if with_exclusion != bool(template.get("imageTagMutabilityExclusionFilters")):
            raise invalid(
                "imageTagMutabilityExclusionFilters",
                "Exclusion filters are required with, and only allowed with, a *_WITH_EXCLUSION tag mutability",
            )

    def _template_result(self, ctx: EcrContext, template: dict) -> dict:
        return {"registryId": ctx.account_id, "repositoryCreationTemplate": _compact(template, TEMPLATE_FIELDS)}

    def _create_template(self, ctx: EcrContext, params: dict) -> dict:
        prefix = _prefix(params, "prefix", max_len=256)
        settings = self._template_settings(params)
        if "appliedFor" not in settings:
            raise invalid("appliedFor", "Member must not be null")
        if prefix in self._templates[ctx.region]:
            raise ApiError(
                "TemplateAlreadyExistsException",
                f"The repository creation template with prefix '{prefix}' already exists",
            )
        now = time.time()
        template = {
            "prefix": prefix,
            "encryptionConfiguration": {"encryptionType": "AES256"},
            "resourceTags": [],
            "imageTagMutability": "MUTABLE",
            **settings,
            "createdAt": now,
            "updatedAt": now,
        }
        self._check_mutability(template)
        self._templates[ctx.region][prefix] = template
        return self._template_result(ctx, template)

    def _describe_templates(self, ctx: EcrContext, params: dict) -> dict:
        wanted = params.get("prefixes")
        if wanted is not None:
            if not isinstance(wanted, list) or not 1 <= len(wanted) <= 100:
                raise invalid("prefixes", "Member must have length between 1 and 100")
            for prefix in wanted:
                _prefix({"prefixes": prefix}, "prefixes", max_len=256)
        templates = self._templates[ctx.region]
        chosen = [templates[p] for p in sorted(templates) if wanted is None or p in wanted]
        scope = f"DescribeRepositoryCreationTemplates:{wanted}"
        items, token = page(chosen, params.get("maxResults"), params.get("nextToken"), scope=scope)
        result = {
            "registryId": ctx.account_id,
            "repositoryCreationTemplates": [_compact(t, TEMPLATE_FIELDS) for t in items],
        }
        if token:
            result["nextToken"] = token
        return result

    def _update_template(self, ctx: EcrContext, params: dict) -> dict:
        template = self._template(ctx, _prefix(params, "prefix", max_len=256))
        updated = {**template, **self._template_settings(params), "updatedAt": time.time()}
        self._check_mutability(updated)
        template.update(updated)
        return self._template_result(ctx, template)

    def _delete_template(self, ctx: EcrContext, params: dict) -> dict:
        prefix = _prefix(params, "prefix", max_len=256)
        template = self._template(ctx, prefix)
        del self._templates[ctx.region][prefix]
        return self._template_result(ctx, template)

    # Registry policy (stored on moto's backend, so moto's own view of the registry stays the same)

    @staticmethod
    def _check_registry_policy(text: str) -> None:
        def bad() -> ApiError:
            return invalid("policyText", "Invalid registry policy provided")

        try:
            document = json.loads(text)
        except ValueError:
            raise bad() from None
        statements = document.get("Statement") if isinstance(document, dict) else None
        if isinstance(statements, dict):
            statements = [statements]
        if not isinstance(statements, list) or not statements:
            raise bad()
        for statement in statements:
            if not isinstance(statement, dict) or statement.get("Effect") not in ("Allow", "Deny"):
                raise bad()
            actions = statement.get("Action")
            actions = [actions] if isinstance(actions, str) else actions
            if not isinstance(actions, list) or not actions or "Principal" not in statement:
                raise bad()
            if any(not isinstance(a, str) or a.lower() not in REGISTRY_POLICY_ACTIONS for a in actions):
                raise bad()

    def _put_registry_policy(self, ctx: EcrContext, params: dict) -> dict:
        text = _string(params, "policyText", required=True, max_len=10240)
        self._check_registry_policy(text)
        ctx.backend.registry_policy = text
        return {"registryId": ctx.account_id, "policyText": text}

    def _get_registry_policy(self, ctx: EcrContext, params: dict) -> dict:
        text = ctx.backend.registry_policy
        if not text:
            raise ApiError(
                "RegistryPolicyNotFoundException",
                f"Registry policy does not exist in the registry with id '{ctx.account_id}'",
            )
        return {"registryId": ctx.account_id, "policyText": text}

    def _delete_registry_policy(self, ctx: EcrContext, params: dict) -> dict:
        result = self._get_registry_policy(ctx, params)
        ctx.backend.registry_policy = None
        return result

    # Listings: moto's data, paged here

    @staticmethod
    def _paged_from_moto(ctx: EcrContext, params: dict, operation: str, key: str, exclusive_with: str | None) -> dict:
        if exclusive_with and params.get(exclusive_with) and params.get("maxResults") is not None:
            raise invalid("maxResults", f"maxResults cannot be used together with {exclusive_with}")
        query = {k: v for k, v in params.items() if k not in ("maxResults", "nextToken")}
        result = ctx.forward(query)
        scope = f"{operation}:{json.dumps(query, sort_keys=True)}"
        result[key], token = page(result.get(key, []), params.get("maxResults"), params.get("nextToken"), scope=scope)
        if token:
            result["nextToken"] = token
        return result

    def _describe_repositories(self, ctx: EcrContext, params: dict) -> dict:
        return self._paged_from_moto(ctx, params, "DescribeRepositories", "repositories", "repositoryNames")

    def _list_images(self, ctx: EcrContext, params: dict) -> dict:
        return self._paged_from_moto(ctx, params, "ListImages", "imageIds", None)

    def _describe_images(self, ctx: EcrContext, params: dict) -> dict:
        result = self._paged_from_moto(ctx, params, "DescribeImages", "imageDetails", "imageIds")
        # moto reports the config's size; ECR the layers' (for an index, its largest image's).
        repository = ctx.backend.repositories.get(params.get("repositoryName"))
        for detail in result.get("imageDetails", []) if repository is not None else []:
            image = imagestore.find_image(repository, digest=detail.get("imageDigest"))
            size = imagestore.image_size(repository, image) if image is not None else None
            if size is not None:
                detail["imageSizeInBytes"] = size
            if image is not None:
                detail["imageManifestMediaType"] = imagestore.media_type_of(image)
        return result

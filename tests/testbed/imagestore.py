"""Images of the emulated ECR registry, kept in moto's own objects so that both APIs see the same images.

The ECR API (moto, ecr_ext, registry.py's BatchGetImage/PutImage) and the registry endpoint (registry.py's /v2/)
read and write the same `Repository.images` list of moto `Image` objects: a manifest pushed over /v2/ shows in
DescribeImages, and one written with PutImage can be pulled. What moto gets wrong is done here instead, from the ECR
API reference: an image's digest is the sha256 of its manifest bytes (moto derives it from the layer digests), a tag
moved to another image leaves the old image untagged (moto deletes it), tag immutability follows the exclusion
filters, and an image's size is the size of its layers (moto reports the config's size).
"""

import fnmatch
import hashlib
import json
import re
import threading

from moto.ecr.models import ECRBackend, Image, Repository

from protocol import ApiError

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
IMAGE_MANIFEST_TYPES = (DOCKER_MANIFEST, OCI_MANIFEST)
INDEX_TYPES = (DOCKER_MANIFEST_LIST, OCI_INDEX)
MANIFEST_TYPES = IMAGE_MANIFEST_TYPES + INDEX_TYPES
MAX_MANIFEST_BYTES = 4 * 1024 * 1024

# Serialises writes to the image store (moto's objects are not thread-safe); reads run in parallel.
STORE_LOCK = threading.RLock()

DIGEST_PATTERN = re.compile(r"sha256:[a-f0-9]{64}")
TAG_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
REPOSITORY_NAME_PATTERN = re.compile(r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*")


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def parse_manifest(body: bytes, media_type: str | None) -> tuple[dict, str]:
    """The manifest's JSON and its media type (from `media_type`, else its own mediaType field).

    Raises ApiError InvalidParameterException for what ECR refuses: not JSON, no or an unknown media type, a media
    type that contradicts the manifest's own, a manifest too large.
    """
    if len(body) > MAX_MANIFEST_BYTES:
        raise ApiError("InvalidParameterException", f"The manifest is larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise ApiError(
            "InvalidParameterException",
            "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'",
        )
    declared = document.get("mediaType")
    media_type = media_type or declared
    if not media_type:
        raise ApiError("InvalidParameterException", "image manifest mediatype not provided in manifest or parameter")
    if declared and declared != media_type:
        raise ApiError(
            "InvalidParameterException",
            f"The manifest's mediaType '{declared}' does not match the given media type '{media_type}'",
        )
    if media_type not in MANIFEST_TYPES:
        raise ApiError("InvalidParameterException", f"Unsupported manifest media type '{media_type}'")
    if document.get("schemaVersion") != 2:
        raise ApiError("InvalidParameterException", "The manifest's schemaVersion must be 2")
    if media_type in INDEX_TYPES:
        children = document.get("manifests")
        if not isinstance(children, list) or not all(_descriptor(c) for c in children):
            raise ApiError("InvalidParameterException", "An index needs a list of manifest descriptors")
    elif not _descriptor(document.get("config")) or not all(_descriptor(d) for d in document.get("layers") or []):
        raise ApiError("InvalidParameterException", "An image manifest needs a config and layer descriptors")
    return document, media_type


def _descriptor(value: object) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("digest"), str)
        and DIGEST_PATTERN.fullmatch(value["digest"]) is not None
        and isinstance(value.get("size"), int)
    )


def blob_descriptors(document: dict, media_type: str) -> list[dict]:
    """The blobs an image manifest references (config first, then layers); none for an index."""
    if media_type in INDEX_TYPES:
        return []
    return [document["config"], *(document.get("layers") or [])]


def child_descriptors(document: dict, media_type: str) -> list[dict]:
    """The manifests an index references; none for an image manifest."""
    return list(document.get("manifests") or []) if media_type in INDEX_TYPES else []


def find_image(repository: Repository, tag: str | None = None, digest: str | None = None) -> Image | None:
    for image in repository.images:
        if (tag is None or tag in image.image_tags) and (digest is None or image.get_image_digest() == digest):
            return image
    return None


def manifest_bytes(image: Image) -> bytes:
    return image.image_manifest.encode("utf-8")


def media_type_of(image: Image) -> str:
    if image.image_manifest_media_type:
        return image.image_manifest_media_type
    try:
        return json.loads(image.image_manifest).get("mediaType") or DOCKER_MANIFEST
    except ValueError:
        return DOCKER_MANIFEST


def image_size(repository: Repository, image: Image) -> int | None:
    """Bytes of the image's layers (as pushed, i.e. compressed); for an index, the largest of its images here."""
    try:
        document = json.loads(image.image_manifest)
    except ValueError:
        return None
    media_type = media_type_of(image)
    if media_type in INDEX_TYPES:
        sizes = [
            image_size(repository, child)
            for descriptor in child_descriptors(document, media_type)
            if (child := find_image(repository, digest=descriptor.get("digest"))) is not None
        ]
        return max((s for s in sizes if s is not None), default=0)
    return sum(layer.get("size", 0) for layer in document.get("layers") or [] if isinstance(layer, dict))


def tag_is_immutable(repository: Repository, tag: str) -> bool:
    """Whether an existing `tag` may not be moved, by the repository's mutability and its exclusion filters."""
    mutability = str(getattr(repository.image_tag_mutability, "value", repository.image_tag_mutability))
    filters = repository.image_tag_mutability_exclusion_filters or []
    excluded = any(fnmatch.fnmatchcase(tag, f.get("filter", "")) for f in filters)
    if mutability.startswith("IMMUTABLE"):
        return not (mutability == "IMMUTABLE_WITH_EXCLUSION" and excluded)
    return mutability == "MUTABLE_WITH_EXCLUSION" and excluded


def put_manifest(
    repository: Repository,
    body: bytes,
    media_type: str,
    tag: str | None,
    *,
    expected_digest: str | None = None,
    check_references: bool = True,
) -> tuple[Image, bool]:
    """Stores a manifest (already parsed with parse_manifest) and tags it; returns (image, whether it is new).

    Raises ApiError with ECR's codes: ImageDigestDoesNotMatchException, LayersNotFoundException,
    ReferencedImagesNotFoundException (only with check_references), ImageTagAlreadyExistsException (an immutable tag
    on another image), ImageAlreadyExistsException (nothing would change).
    """
    digest = digest_of(body)
    if expected_digest is not None and expected_digest != digest:
        raise ApiError(
            "ImageDigestDoesNotMatchException",
            f"The image digest '{expected_digest}' does not match the digest of the manifest, '{digest}'",
        )
    document = json.loads(body)
    if check_references:
        missing = [d["digest"] for d in blob_descriptors(document, media_type) if d["digest"] not in repository.layers]
        if missing:
            raise ApiError(
                "LayersNotFoundException",
                f"Layers {missing} are not present in the repository '{repository.name}'",
            )
        missing = [
            d["digest"]
            for d in child_descriptors(document, media_type)
            if not find_image(repository, digest=d["digest"])
        ]
        if missing:
            raise ApiError(
                "ReferencedImagesNotFoundException",
                f"Manifests {missing} referenced by the index are not present in the repository '{repository.name}'",
            )
    existing = find_image(repository, digest=digest)
    if tag is not None:
        holder = find_image(repository, tag=tag)
        if holder is not None and holder is existing:
            raise ApiError(
                "ImageAlreadyExistsException",
                f"Image with digest '{digest}' and tag '{tag}' already exists in the repository with name "
                f"'{repository.name}' in registry with id '{repository.registry_id}'",
            )
        if holder is not None:
            if tag_is_immutable(repository, tag):
                raise ApiError(
                    "ImageTagAlreadyExistsException",
                    f"The image tag '{tag}' already exists in the '{repository.name}' repository and cannot be "
                    "overwritten because the tag is immutable.",
                )
            _untag(holder, tag)
    elif existing is not None:
        raise ApiError(
            "ImageAlreadyExistsException",
            f"Image with digest '{digest}' already exists in the repository with name '{repository.name}' in registry "
            f"with id '{repository.registry_id}'",
        )
    if existing is not None:
        if tag is not None:
            existing.update_tag(tag)
        return existing, False
    image = Image(
        repository.account_id,
        tag,
        body.decode("utf-8"),
        repository.name,
        media_type,
        digest,
        repository.registry_id,
    )
    repository.images.append(image)
    return image, True


def _untag(image: Image, tag: str) -> None:
    image.remove_tag(tag)
    if not image.image_tags:
        image.image_tag = None  # moto leaves the removed tag here


def untag(repository: Repository, tag: str) -> bool:
    image = find_image(repository, tag=tag)
    if image is None:
        return False
    _untag(image, tag)
    return True


def delete_image(repository: Repository, digest: str) -> bool:
    image = find_image(repository, digest=digest)
    if image is None:
        return False
    repository.images.remove(image)
    return True


def create_repository(backend: ECRBackend, name: str, template: dict | None) -> Repository:
    """Creates a repository as ECR does for a push or a pull-through pull: with the settings of `template`."""
    template = template or {}
    repository = backend.create_repository(
        repository_name=name,
        registry_id=None,
        encryption_config=dict(template["encryptionConfiguration"])
        if template.get("encryptionConfiguration")
        else None,
        image_scan_config=None,
        image_tag_mutability=template.get("imageTagMutability") or "MUTABLE",
        tags=[dict(t) for t in template.get("resourceTags") or []],
        image_tag_mutability_exclusion_filters=template.get("imageTagMutabilityExclusionFilters"),
    )
    if template.get("repositoryPolicy"):
        repository.policy = template["repositoryPolicy"]
    if template.get("lifecyclePolicy"):
        repository.lifecycle_policy = template["lifecyclePolicy"]
    return repository

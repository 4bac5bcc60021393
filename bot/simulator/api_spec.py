"""The official Bot API, read from ``api.json`` beside this module, as a validator.

Why: a fake server that accepts whatever the bot sends proves nothing. Every
request is checked here against the machine-readable spec (method exists, every
required field is present, no unknown field, each value has one of the allowed
types, recursively through objects such as ``InlineKeyboardMarkup``), and the
fake's own answers and injected updates are checked against the return types,
so the fake cannot drift from the real shapes either.

The spec ships inside the package (``bot/simulator/api.json``, scraped from the
official documentation by the MIT-licensed telegram-bot-api-spec project, see
``API_SPEC.md``), so the demo and the tests validate against the same file. Should it
be missing (a broken install), tests skip with a clear reason, see
:func:`spec_unavailable_reason`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .models import UploadedFile

SPEC_FILE = Path(__file__).resolve().parent / "api.json"


def default_spec_path() -> Path:
    """The spec shipped with the package: ``bot/simulator/api.json``."""
    return SPEC_FILE


def spec_unavailable_reason(path: Path | None = None) -> str | None:
    """A skip reason when the spec file is missing, else None."""
    spec_path = path or default_spec_path()
    if spec_path.is_file():
        return None
    return (
        f"the Bot API spec {spec_path} is absent: the simulated Telegram server validates every "
        "request against it and refuses to run without it"
    )


class SpecMissingError(FileNotFoundError):
    """Raised when api.json cannot be found; tests turn it into a skip."""


_ARRAY = "Array of "
_PLAIN_STRING = ("String",)
_DISCRIMINATOR = re.compile(r"(?:must be|always)\s+[“\"]?([a-z0-9_]+)[”\"]?")


@dataclass(frozen=True)
class FieldSpec:
    """One parameter of a method or one field of a type."""

    name: str
    types: tuple[str, ...]
    required: bool

    @property
    def is_plain_string(self) -> bool:
        """Plain String fields are never JSON-decoded: "123" stays the text "123"."""
        return self.types == _PLAIN_STRING

    @property
    def accepts_file(self) -> bool:
        """True for "InputFile or String" fields, which may arrive as multipart file parts."""
        return "InputFile" in self.types


@dataclass(frozen=True)
class MethodSpec:
    """A Bot API method: its parameters and what it returns."""

    name: str
    fields: Mapping[str, FieldSpec]
    returns: tuple[str, ...]


class ApiSpec:
    """Methods and types of the Bot API, with value checks that follow the spec's types."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.version: str = str(raw.get("version", "?"))
        self.methods: dict[str, MethodSpec] = {}
        self._methods_lower: dict[str, str] = {}
        for name, method in raw["methods"].items():
            fields = {f.name: f for f in _fields(method.get("fields", []))}
            self.methods[name] = MethodSpec(name, fields, tuple(method.get("returns", [])))
            self._methods_lower[name.lower()] = name
        self.types: dict[str, Mapping[str, Any]] = dict(raw["types"])
        self._type_fields: dict[str, dict[str, FieldSpec]] = {
            name: {f.name: f for f in _fields(t.get("fields", []))}
            for name, t in self.types.items()
        }
        self._discriminators: dict[str, tuple[str, str]] = {
            name: found for name, t in self.types.items() if (found := _discriminator(t))
        }

    @classmethod
    def load(cls, path: Path | None = None) -> ApiSpec:
        """Load (and cache per path) the spec; raises :class:`SpecMissingError` if absent."""
        spec_path = (path or default_spec_path()).resolve()
        reason = spec_unavailable_reason(spec_path)
        if reason is not None:
            raise SpecMissingError(reason)
        return _load_cached(str(spec_path))

    def method(self, name: str) -> MethodSpec | None:
        """Look a method up like Telegram does: method names are case-insensitive."""
        canonical = self._methods_lower.get(name.lower())
        return self.methods[canonical] if canonical else None

    def type_fields(self, type_name: str) -> Mapping[str, FieldSpec]:
        """Fields of an object type (empty for unknown or abstract types)."""
        return self._type_fields.get(type_name, {})

    # -- requests -----------------------------------------------------------------

    def decode_params(self, method: MethodSpec, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Turn raw request values into Python values the way Telegram reads them.

        Form fields are strings; python-telegram-bot JSON-encodes every non-string
        value. So a string for a field whose type is not plain ``String`` is tried
        as JSON ("123" -> 123, "true" -> True, '{"inline_keyboard": ...}' -> dict);
        when that fails the string is kept ("@channel" for a chat_id).
        """
        decoded: dict[str, Any] = {}
        for name, value in raw.items():
            field = method.fields.get(name)
            if isinstance(value, str) and not (field is not None and field.is_plain_string):
                try:
                    decoded[name] = json.loads(value)
                except ValueError:
                    decoded[name] = value
            else:
                decoded[name] = value
        return decoded

    def validate_params(
        self,
        method: MethodSpec,
        params: Mapping[str, Any],
        files: Mapping[str, UploadedFile],
    ) -> list[str]:
        """Every contract error of one request, as Telegram-like descriptions (may be empty)."""
        errors: list[str] = []
        attach_names = _attach_references(params.values())
        for name in params:
            if name not in method.fields:
                errors.append(f'unknown parameter "{name}" for method {method.name}')
        for name in files:
            field = method.fields.get(name)
            if field is None:
                if name not in attach_names:
                    errors.append(
                        f'unknown file part "{name}" for method {method.name} '
                        "(neither a parameter nor referenced as attach://)"
                    )
            elif not field.accepts_file:
                errors.append(f'parameter "{name}" of {method.name} cannot be a file upload')
        for field in method.fields.values():
            present = field.name in params or field.name in files
            if field.required and not present:
                errors.append(_missing(field.name))
            if field.name in params and field.name not in files:
                value = params[field.name]
                if isinstance(value, str) and value.startswith("attach://"):
                    if field.accepts_file and value[len("attach://") :] not in files:
                        errors.append(f'file part for "{field.name}" ({value}) was not uploaded')
                    continue
                errors.extend(self.check_value(value, field.types, field.name))
        return errors

    # -- values ---------------------------------------------------------------------

    def check_value(self, value: Any, types: Sequence[str], path: str) -> list[str]:
        """Errors if ``value`` matches none of ``types``; the closest candidate's errors."""
        best: list[str] | None = None
        for type_name in types:
            errors = self._check_one(value, type_name, path)
            if not errors:
                return []
            if best is None or len(errors) < len(best):
                best = errors
        return best or []

    def _check_one(self, value: Any, type_name: str, path: str) -> list[str]:
        if type_name.startswith(_ARRAY):
            if not isinstance(value, list):
                return [f"{path} must be an Array ({type_name}), got {_kind(value)}"]
            inner = type_name[len(_ARRAY) :]
            errors: list[str] = []
            for index, item in enumerate(value):
                errors.extend(self._check_one(item, inner, f"{path}[{index}]"))
            return errors
        scalar = _SCALARS.get(type_name)
        if scalar is not None:
            return [] if scalar(value) else [f"{path} must be {type_name}, got {_kind(value)}"]
        if type_name == "InputFile":
            ok = isinstance(value, UploadedFile)
            return [] if ok else [f"{path} must be an uploaded file, got {_kind(value)}"]
        spec_type = self.types.get(type_name)
        if spec_type is None:
            return []  # a type the spec does not describe: nothing to hold it to
        subtypes = spec_type.get("subtypes")
        if subtypes:
            if isinstance(value, dict):
                # Judge a union value by the member its discriminator names, when it names one.
                named = [
                    sub
                    for sub in subtypes
                    if (d := self._discriminators.get(sub)) is not None and value.get(d[0]) == d[1]
                ]
                if named:
                    return self.check_value(value, named, path)
            return self.check_value(value, subtypes, path)
        if not isinstance(value, dict):
            return [f"{path} must be a {type_name} object, got {_kind(value)}"]
        return self._check_object(value, type_name, path)

    def _check_object(self, value: Mapping[str, Any], type_name: str, path: str) -> list[str]:
        fields = self._type_fields.get(type_name, {})
        errors: list[str] = []
        for key in value:
            if key not in fields:
                errors.append(f'{path}: unknown field "{key}" in {type_name}')
        for field in fields.values():
            if field.name not in value or value[field.name] is None:
                if field.required:
                    errors.append(f'{path}: {type_name} needs field "{field.name}"')
                continue
            field_path = f"{path}.{field.name}"
            discriminator = self._discriminators.get(type_name)
            if discriminator is not None and discriminator[0] == field.name:
                if value[field.name] != discriminator[1]:
                    errors.append(f'{field_path} must be "{discriminator[1]}" for {type_name}')
                    continue
            errors.extend(self.check_value(value[field.name], field.types, field_path))
        return errors


def _discriminator(spec_type: Mapping[str, Any]) -> tuple[str, str] | None:
    """The field and fixed value telling union members apart.

    ``BotCommandScopeChat.type`` "must be chat", ``ChatMemberMember.status`` is
    "always “member”": without this a ``{"type": "chat"}`` scope would pass as
    ``BotCommandScopeDefault``.
    """
    if not spec_type.get("subtype_of"):
        return None
    for raw_field in spec_type.get("fields", []):
        if not raw_field.get("required") or raw_field.get("types") != ["String"]:
            continue
        match = _DISCRIMINATOR.search(" ".join(_as_list(raw_field.get("description"))))
        if match:
            return str(raw_field["name"]), match.group(1)
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_float(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_SCALARS = {
    "String": lambda v: isinstance(v, str),
    "Integer": _is_int,
    "Float": _is_float,
    "Float number": _is_float,
    "Boolean": lambda v: isinstance(v, bool),
    "True": lambda v: v is True,
}


def _kind(value: Any) -> str:
    if isinstance(value, UploadedFile):
        return "a file upload"
    text = json.dumps(value, ensure_ascii=False, default=str)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:39] + '…'}"


def _missing(name: str) -> str:
    """Telegram's own words for the commonest missing parameters, a generic line otherwise."""
    if name == "text":
        return "message text is empty"
    if name == "chat_id":
        return "chat_id is empty"
    return f'parameter "{name}" is required'


def _fields(raw_fields: Iterable[Mapping[str, Any]]) -> list[FieldSpec]:
    return [FieldSpec(f["name"], tuple(f["types"]), bool(f["required"])) for f in raw_fields]


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _attach_references(values: Iterable[Any]) -> set[str]:
    """Names used as ``attach://name`` anywhere in the params (media groups, thumbnails)."""
    found: set[str] = set()
    stack = list(values)
    while stack:
        value = stack.pop()
        if isinstance(value, str) and value.startswith("attach://"):
            found.add(value[len("attach://") :])
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


@functools.lru_cache(maxsize=4)
def _load_cached(path: str) -> ApiSpec:
    with open(path, encoding="utf-8") as handle:
        return ApiSpec(json.load(handle))

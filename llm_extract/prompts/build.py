"""Prompts and request schemas: what the model is shown and what it may answer.

Templates are Jinja2 files in ``templates/`` beside this module. A
:class:`PromptSpec` names the templates for one task; :func:`prompt_version`
fingerprints them with the schema, so cassettes, caches and reports all
change when either changes.

:func:`request_schema` turns a Pydantic model into the JSON schema sent with
the request: references inlined, every property required (nullable where
optional), and, with span constraint on, every free string field replaced by
an enum of spans from the source text. Derived fields (``x-derived``) are never
asked for: normalization fills them from the grounded text.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from pydantic import BaseModel

from ..errors import ConfigurationError
from ..text.candidates import Candidates

Message = dict[str, str]


@lru_cache(maxsize=1)
def prompt_dir() -> Path:
    """The templates folder shipped beside this module."""
    return Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def _env(root: str) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(root),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,
    )


def _template(name: str) -> jinja2.Template:
    return _env(str(prompt_dir())).get_template(name)


def _source(name: str) -> str:
    return (prompt_dir() / name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class PromptSpec:
    """The templates for one task.

    ``system`` is a template name in ``templates/`` or a path to the caller's
    own template file; ``examples`` a JSON file of ``{"article", "answer"}``
    worked examples, shown to the model as earlier turns.
    """

    name: str
    system: str
    examples: str | None = None
    stamp: tuple[int, ...] | None = field(default=None, compare=False, repr=False)
    """Its files' modification times, read once for one call (:meth:`pinned`);
    None reads them at each use."""

    def pinned(self) -> PromptSpec:
        """This spec with its files' times read now: one call's renderings and
        version read the disk once, and an edit shows from the next call."""
        return replace(self, stamp=_file_times(self))

    def system_template(self) -> jinja2.Template:
        if os.sep in self.system or self.system.startswith("."):
            return _env(str(prompt_dir())).from_string(self.system_template_source())
        return _template(self.system)

    def sources(self) -> list[str]:
        own = [self.system_template_source()]
        extra = [_source(n) for n in ("article.user.j2", "reask.user.j2")]
        if self.examples:
            extra.append(_source(self.examples))
        return own + extra

    def system_template_source(self) -> str:
        if os.sep in self.system or self.system.startswith("."):
            try:
                return Path(self.system).read_text(encoding="utf-8")
            except OSError as exc:
                msg = f"cannot read prompt template {self.system}: {exc}"
                raise ConfigurationError(msg) from exc
        return _source(self.system)

    def load_examples(self) -> list[dict[str, Any]]:
        if not self.examples:
            return []
        data: list[dict[str, Any]] = json.loads(_source(self.examples))
        return data


DEALS = PromptSpec("deals", "deals.system.j2", "examples/deals.json")
DEAL_SLOTS = PromptSpec("deal_slots", "deal_slots.system.j2", "examples/deal_slots.json")
WINDOWS = PromptSpec("windows", "windows.system.j2", "examples/windows.json")
WINDOWS_TUNED = PromptSpec("windows_tuned", "windows_tuned.system.j2")
GENERIC = PromptSpec("extract", "extract.system.j2")


def choose_prompt(prompt: str | os.PathLike[str] | None, default: PromptSpec) -> PromptSpec:
    """The caller's own template when given, else ``default``, pinned for one call."""
    return (default if prompt is None else custom_prompt(prompt)).pinned()


def custom_prompt(prompt: str | os.PathLike[str]) -> PromptSpec:
    """A spec for a caller's own system template (a file path)."""
    path = Path(prompt)
    if not path.is_file():
        raise ConfigurationError(f"prompt template {path} does not exist")
    return PromptSpec(f"custom:{path.name}", str(path.resolve()))


@lru_cache(maxsize=64)
def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema, generated once per model: treat it as read-only."""
    return model.model_json_schema()


def _stamp(spec: PromptSpec) -> tuple[int, ...]:
    """Modification times of the spec's files, so cached renderings notice edits."""
    return spec.stamp if spec.stamp is not None else _file_times(spec)


def _file_times(spec: PromptSpec) -> tuple[int, ...]:
    return tuple(_mtime(path) for path in _files(spec))


@lru_cache(maxsize=64)
def _files(spec: PromptSpec) -> tuple[str, ...]:
    names = [spec.system, "article.user.j2", "reask.user.j2", *filter(None, [spec.examples])]
    return tuple(n if os.sep in n else str(prompt_dir() / n) for n in names)


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


def prompt_version(spec: PromptSpec, model: type[BaseModel]) -> str:
    """``name@hash`` of the templates, examples and the model's schema."""
    return _prompt_version(spec, model, _stamp(spec))


@lru_cache(maxsize=64)
def _prompt_version(spec: PromptSpec, model: type[BaseModel], stamp: tuple[int, ...]) -> str:
    digest = hashlib.sha256()
    for part in spec.sources():
        digest.update(part.encode())
    digest.update(json.dumps(request_schema(model, None), sort_keys=True).encode())
    return f"{spec.name}@{digest.hexdigest()[:10]}"


def request_schema(model: type[BaseModel], candidates: Candidates | None) -> dict[str, Any]:
    """The JSON schema sent with the request (see the module docstring), the
    caller's own to change: without candidates it depends on the model alone,
    so it is shaped once and each call gets a fresh copy of it (instructor's
    tool handlers write into the schema they are given)."""
    if candidates is None:
        schema: dict[str, Any] = json.loads(_shaped_once(model)[0])
        return schema
    return _shaped(model, candidates)


def schema_digest(schema: dict[str, Any]) -> str:
    """A digest of ``schema``'s content, whatever its key order."""
    canonical = json.dumps(schema, sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(canonical.encode()).hexdigest()


def request_schema_digest(model: type[BaseModel], candidates: Candidates | None) -> str | None:
    """:func:`schema_digest` of ``request_schema(model, candidates)`` when it is
    known without building the schema: when there are no candidates."""
    return _shaped_once(model)[1] if candidates is None else None


@lru_cache(maxsize=64)
def _shaped_once(model: type[BaseModel]) -> tuple[str, str]:
    """The candidate-free schema as JSON, in its own key order, and its digest."""
    schema = _shaped(model, None)
    return json.dumps(schema), schema_digest(schema)


def _shaped(model: type[BaseModel], candidates: Candidates | None) -> dict[str, Any]:
    raw = dict(model_schema(model))
    defs = raw.pop("$defs", {})
    used: dict[str, list[str]] = {}
    shaped = _shape(raw, defs, candidates, None, used)
    shaped["title"] = model.__name__
    if used:
        shaped["$defs"] = {f"span_{kind}": {"enum": spans} for kind, spans in used.items()}
    return shaped


_DROP = {"title", "default", "x-span", "x-derived", "x-ground"}


def _shape(
    node: dict[str, Any],
    defs: dict[str, Any],
    cands: Candidates | None,
    kind: str | None,
    used: dict[str, list[str]],
) -> dict[str, Any]:
    """Span enums go to ``$defs`` once per kind and fields point at them, so a
    long article's spans are not repeated in every field."""
    kind = node.get("x-span", kind)
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _shape(merged, defs, cands, kind, used)
    out = {k: v for k, v in node.items() if k not in _DROP}
    if "anyOf" in node:
        options = [_shape(o, defs, cands, kind, used) for o in node["anyOf"]]
        options = [o for o in options if o.get("enum") != []]
        if len(options) == 1:
            return {**{k: v for k, v in out.items() if k != "anyOf"}, **options[0]}
        out["anyOf"] = options
        return out
    kind_of = node.get("type")
    if kind_of == "object" and "properties" in node:
        props = {
            name: _shape(sub, defs, cands, None, used)
            for name, sub in node["properties"].items()
            if not sub.get("x-derived")
        }
        if any(sub.get("enum") == [] for sub in props.values()):
            return {"enum": []}
        out["properties"] = props
        out["required"] = list(props)
        out["additionalProperties"] = False
    elif kind_of == "array" and "items" in node:
        out["items"] = _shape(node["items"], defs, cands, kind, used)
        if out["items"].get("enum") == []:
            out["items"] = {"type": "string"}
            out["maxItems"] = 0
    elif (
        kind_of == "string"
        and cands is not None
        and not _fixed(node)
        and node.get("x-ground", True)
    ):
        spans = cands.for_kind(kind or "text")
        if not spans:
            return {"enum": []}
        used[kind or "text"] = spans
        out.pop("type", None)
        out["$ref"] = f"#/$defs/span_{kind or 'text'}"
    return out


def _fixed(node: dict[str, Any]) -> bool:
    return any(k in node for k in ("enum", "const", "format", "pattern"))


def field_guide(schema: dict[str, Any]) -> str:
    """One line per field: its path, its brief, and its choices if it has fixed ones."""
    lines: list[str] = []

    def walk(node: dict[str, Any], path: str) -> None:
        if "anyOf" in node:
            for option in node["anyOf"]:
                if option.get("type") != "null":
                    walk({**option, "description": node.get("description")}, path)
            return
        if path:
            text = node.get("description") or ""
            if "enum" in node:
                text += " One of: " + ", ".join(map(str, node["enum"])) + "."
            if text:
                lines.append(f"- {path}: {' '.join(text.split())}")
        if node.get("type") == "object":
            for name, sub in node.get("properties", {}).items():
                walk(sub, f"{path}.{name}" if path else name)
        elif node.get("type") == "array":
            walk({**node["items"], "description": None}, f"{path}[]")

    walk(schema, "")
    return "\n".join(lines)


def _example_answer(model: type[BaseModel], answer: dict[str, Any], spans: bool) -> str:
    value = model.model_validate(answer)
    # One stand-in span per kind: enough to keep span fields in the shape
    # while dropping the derived fields a span-constrained model is not asked for.
    stand_in = Candidates(["x"], ["x"], ["x"])
    shaped = request_schema(model, stand_in if spans else None)
    return json.dumps(_project(value.model_dump(mode="json"), shaped), ensure_ascii=False)


def _project(value: Any, schema: dict[str, Any]) -> Any:
    """Keep only the keys the request schema asks for, in its order."""
    if isinstance(value, dict):
        options = schema.get("anyOf", [schema])
        obj = next((o for o in options if o.get("type") == "object"), schema)
        props = obj.get("properties", {})
        return {k: _project(value.get(k), props[k]) for k in props}
    if isinstance(value, list):
        options = schema.get("anyOf", [schema])
        array: dict[str, Any] = next((o for o in options if o.get("type") == "array"), schema)
        return [_project(v, array.get("items", {})) for v in value]
    return value


def build_messages(
    spec: PromptSpec, model: type[BaseModel], text: str, *, spans: bool
) -> list[Message]:
    """System brief, worked examples as earlier turns, then the article."""
    article = _template("article.user.j2")
    prefix = _prefix(spec, model, spans, _stamp(spec))
    return [
        *(dict(m) for m in prefix),
        {"role": "user", "content": article.render(text=_defuse(text))},
    ]


@lru_cache(maxsize=64)
def _prefix(
    spec: PromptSpec, model: type[BaseModel], spans: bool, stamp: tuple[int, ...]
) -> tuple[Message, ...]:
    """The turns before the article; they depend only on the spec, model and spans."""
    guide = field_guide(request_schema(model, None))
    system = spec.system_template().render(
        field_guide=guide, schema_name=model.__name__, spans=spans
    )
    messages: list[Message] = [{"role": "system", "content": system}]
    article = _template("article.user.j2")
    for example in spec.load_examples():
        messages.append(
            {"role": "user", "content": article.render(text=_defuse(example["article"]))}
        )
        messages.append(
            {"role": "assistant", "content": _example_answer(model, example["answer"], spans)}
        )
    return tuple(messages)


_TAG = re.compile(r"<(/?)(article)", re.IGNORECASE)


def _defuse(text: str) -> str:
    """Break any article tag inside the text so it cannot close the delimiter."""
    return _TAG.sub(r"<\1 \2", text)


def reask_messages(
    base: list[Message], rejected: str, problems: list[str], *, grounding: bool, limit: int = 4000
) -> list[Message]:
    """The original turns plus only the latest rejected answer and its problems.

    Earlier rejected answers are not carried along and the rejected answer is
    clipped to ``limit`` characters, so a re-ask costs about the same however
    many came before it.
    """
    clipped = rejected if len(rejected) <= limit else rejected[:limit] + " …[cut]"
    reask = _template("reask.user.j2").render(problems=problems[:20], grounding=grounding)
    return [*base, {"role": "assistant", "content": clipped}, {"role": "user", "content": reask}]

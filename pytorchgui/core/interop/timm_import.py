"""Import a timm model (`timm.list_models()`) as an editable network through the torch.fx
importer (`importers.trace`).

timm's own layers are traced through, so what they compute between torch.nn modules
maps like any other call, except the few that carry weights of their own and that torch.fx
cannot trace through or that map more simply whole: those stay one call and `module_readers`
turns each into catalogue nodes (BatchNormAct2d: BatchNorm2d then its activation;
Conv2dSame: Pad then Conv2d). A model whose Python control flow depends on the data is
traced again with the modules and functions timm itself registers as not traceable
(timm.layers' notrace lists, the ones its torch.fx feature extraction uses) kept whole;
those then must map, or the import names them.

timm is an optional extra (`pip install pytorchgui[timm]`).
"""
from __future__ import annotations

import contextlib
import functools
from typing import Any

import torch
from torch import fx

from pytorchgui.core.errors import PyTorchGUIError
from pytorchgui.core.graph.catalog import Catalog, default_catalog
from pytorchgui.core.interop.fx_mapping import MappingError
from pytorchgui.core.interop.importers import ImportedModel, ImportError_, _module_values, convert_weights, trace
from pytorchgui.core.machine import FLOAT_BYTES, does_not_fit_in_ram


def _timm():
    try:
        import timm  # imported on use: timm imports torchvision and takes seconds
    except ImportError:
        raise PyTorchGUIError("timm is not installed: pip install 'pytorchgui[timm]' (or pip install timm)") from None
    return timm


class TimmTracer(fx.Tracer):
    """torch.fx's tracer that keeps whole the modules PyTorchGUI maps whole (module_readers())
    and, with `notrace`, the modules and functions timm registers as not traceable."""

    def __init__(self, notrace: bool = False):
        from timm.layers import get_notrace_functions, get_notrace_modules

        super().__init__(autowrap_functions=tuple(get_notrace_functions()) if notrace else ())
        self.whole = tuple(module_readers()) + (tuple(get_notrace_modules()) if notrace else ())

    def is_leaf_module(self, module: torch.nn.Module, qualified_name: str) -> bool:
        return isinstance(module, self.whole) or super().is_leaf_module(module, qualified_name)

    def trace(self, root, concrete_args=None) -> fx.Graph:
        # LeViT, EfficientFormer and EfficientViT keep their attention biases in a cache once
        # computed in evaluation: traced from an empty cache, the trace computes them from their
        # parameters; emptied after, no later trace or run reads a value of this trace
        _forget_attention_biases(root)
        try:
            return super().trace(root, concrete_args)
        finally:
            _forget_attention_biases(root)


def _forget_attention_biases(root) -> None:
    for module in root.modules() if isinstance(root, torch.nn.Module) else ():
        if isinstance(getattr(module, "attention_bias_cache", None), dict):
            module.attention_bias_cache = {}


SHAPE_ATTRIBUTES = {"shape", "ndim", "dtype", "device", "is_cuda"}
SHAPE_METHODS = {"size", "dim", "numel", "ndimension", "get_device"}


class ShapeSpecialisingTracer(TimmTracer):
    """A TimmTracer that also runs the model on one real input of `input_shape` as it traces,
    so that Python control flow on shapes (`if H % window:`, timm's checks of the input size)
    takes the branch this input size takes instead of stopping the trace. Only values read
    from shapes (x.shape, x.size(), and numbers computed from them alone) are decided so;
    control flow on the data itself still refuses to trace. The import is of one input
    size anyway: the network's input shape is fixed."""

    def __init__(self, input_shape: list[int], batch: int = 2):
        super().__init__(notrace=False)
        self.example = torch.randn(batch, *input_shape)
        self.values: dict[fx.Node, Any] = {}
        self.static: set[fx.Node] = set()

    def trace(self, root, concrete_args=None) -> fx.Graph:
        self.values, self.static = {}, set()
        return super().trace(root, concrete_args)

    def create_proxy(self, kind, target, args, kwargs, name=None, type_expr=None, proxy_factory_fn=None):
        proxy = super().create_proxy(kind, target, args, kwargs, name, type_expr, proxy_factory_fn)
        node = proxy.node
        inputs = node.all_input_nodes
        if kind in ("placeholder", "get_attr"):
            self._value(node)
        elif all(self._value(argument) is not _UNKNOWN for argument in inputs):
            value = self._run(node)
            self.values[node] = value
            reads_shape = (kind == "call_function" and target is getattr and args[1] in SHAPE_ATTRIBUTES) or (
                kind == "call_method" and target in SHAPE_METHODS)
            if not isinstance(value, torch.Tensor) and (reads_shape or all(argument in self.static
                                                                           for argument in inputs)):
                self.static.add(node)
        return proxy

    def _value(self, node: fx.Node) -> Any:
        if node not in self.values:
            if node.op == "placeholder" and not any(known.op == "placeholder" for known in self.values):
                self.values[node] = self.example
            elif node.op == "get_attr":
                self.values[node] = _attribute(self.root, node.target)
            else:
                return _UNKNOWN
        return self.values[node]

    def _run(self, node: fx.Node) -> Any:
        args = fx.node.map_arg(node.args, self._value)
        kwargs = fx.node.map_arg(node.kwargs, self._value)
        try:
            with torch.no_grad(), _unpatched_modules():
                if node.op == "call_function":
                    return node.target(*args, **kwargs)
                if node.op == "call_method":
                    return getattr(args[0], node.target)(*args[1:], **kwargs)
                if node.op == "call_module":
                    return self.root.get_submodule(node.target)(*args, **kwargs)
        except Exception:  # noqa: BLE001 - a value not known here only keeps its branch undecided
            return _UNKNOWN
        return _UNKNOWN

    def proxy(self, node: fx.Node) -> fx.Proxy:
        return _KnownDeviceProxy(node, self)

    def to_bool(self, obj) -> bool:
        if obj.node in self.static:
            return bool(self.values[obj.node])
        return super().to_bool(obj)

    def iter(self, obj):
        if obj.node in self.static:
            return iter(self.values[obj.node])
        return super().iter(obj)


_UNKNOWN = object()


@contextlib.contextmanager
def _unpatched_modules():
    """torch.nn.Module's own __call__ and __getattr__, which torch.fx replaces while it traces
    (a module called then would add nodes, and its parameters would be proxies)."""
    from torch.fx import _symbolic_trace

    patched = torch.nn.Module.__call__, torch.nn.Module.__getattr__
    torch.nn.Module.__call__ = _symbolic_trace._orig_module_call
    torch.nn.Module.__getattr__ = _symbolic_trace._orig_module_getattr
    try:
        yield
    finally:
        torch.nn.Module.__call__, torch.nn.Module.__getattr__ = patched


def _attribute(root: torch.nn.Module, target: str) -> Any:
    value: Any = root
    with _unpatched_modules():
        for part in target.split("."):
            value = getattr(value, part)
    return value


class _KnownDeviceProxy(fx.Proxy):
    """A proxy whose tensor's device and dtype are read from the example run: they never
    depend on the input's values or size (timm's `torch.autocast(device_type=x.device.type)`)."""

    def __getattr__(self, attribute: str):
        if attribute in ("device", "dtype"):
            value = self.tracer.values.get(self.node, _UNKNOWN)
            if isinstance(value, torch.Tensor):
                return getattr(value, attribute)
        return super().__getattr__(attribute)


def timm_graph(model: torch.nn.Module, input_shape: list[int] | None = None) -> tuple[fx.Tracer, str | None]:
    """The tracer that traces `model`: through timm's layers if it can; else through them with
    the control flow on shapes decided for `input_shape` (ShapeSpecialisingTracer); else with
    timm's own not-traceable modules kept whole; the tracer is None and the reason given when
    none does."""
    reason = None
    tracers = [lambda: TimmTracer(False)]
    if input_shape is not None:
        tracers.append(lambda: ShapeSpecialisingTracer(input_shape))
    tracers.append(lambda: TimmTracer(True))
    for make in tracers:
        tracer = make()
        try:
            tracer.trace(model)
            return tracer, None
        except Exception as error:  # noqa: BLE001 - any tracing failure is the model's, said in one line
            reason = reason or f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    return None, reason


def trace_timm(model: torch.nn.Module, name: str, input_shape: list[int], catalog: Catalog | None = None
               ) -> ImportedModel:
    """The network of timm model `model` (named `name`) for one sample of `input_shape`."""
    where = f"timm:{name}"
    tracer, reason = timm_graph(model, input_shape)
    if tracer is None:
        raise ImportError_(f"{where} cannot be traced by torch.fx ({reason}): its Python control flow depends on "
                           "the data; choose another model of its family, or rewrite that part") from None
    imported = trace(model, catalog, where=where, input_shape=input_shape, tracer=tracer,
                     module_readers=module_readers(), function_readers=function_readers())
    imported.network.set_loss("CrossEntropyLoss")
    imported.network.set_optimizer("AdamW", {"lr": 0.001})
    return imported


def default_input(model: torch.nn.Module) -> list[int]:
    """The sample shape timm's configuration gives the model (3, 224, 224 without one)."""
    configuration = getattr(model, "pretrained_cfg", None) or {}
    return list(configuration.get("input_size") or (3, 224, 224))


def import_timm(name: str, catalog: Catalog | None = None, *, pretrained: bool = False
                ) -> tuple[ImportedModel, dict[str, torch.Tensor] | None]:
    """timm's model `name` at its default input size, with random weights, or with timm's
    pretrained weights (fetched and cached by timm) converted to the network's names."""
    timm = _timm()
    if not timm.is_model(name):
        close = [model for model in timm.list_models(f"*{name[:5]}*")][:8]
        raise ImportError_(f"timm has no model '{name}'" + (f"; close: {', '.join(close)}" if close else "")
                           + " (see timm.list_models())")
    _check_fits(timm, name)
    model = _create(timm, name, pretrained)
    imported = trace_timm(model, name, default_input(model), catalog)
    weights = convert_weights(imported, model.state_dict(), source=f"{name}'s pretrained weights") \
        if pretrained else None
    return imported, weights


def _check_fits(timm, name: str) -> None:
    """An ImportError_ when the model's weights would not fit in the free memory (counted
    on the meta device, where building costs nothing)."""
    try:
        with torch.device("meta"):
            parameters = sum(p.numel() for p in timm.create_model(name, pretrained=False).parameters())
    except Exception:  # noqa: BLE001 - a model that cannot be built on meta is counted when built for real
        return
    problem = does_not_fit_in_ram(2 * parameters * FLOAT_BYTES, f"building timm's {name} ({parameters:,} weights)",
                                  "close other programs, or choose a smaller model")
    if problem:
        raise ImportError_(problem)


def pretrained_weights(name: str) -> dict[str, torch.Tensor]:
    """timm's pretrained state_dict of `name` (fetched by timm, cached after the first time)."""
    return _create(_timm(), name, True).state_dict()


def _create(timm, name: str, pretrained: bool) -> torch.nn.Module:
    if not pretrained:
        return timm.create_model(name, pretrained=False).eval()
    configuration = timm.models.get_pretrained_cfg(name)
    if configuration is None or not (configuration.hf_hub_id or configuration.url or configuration.file):
        raise PyTorchGUIError(f"timm has no pretrained weights for '{name}': import it without --pretrained "
                              "(random weights), or give a weights file with --weights")
    try:
        return timm.create_model(name, pretrained=True).eval()
    except Exception as error:  # noqa: BLE001 - network, hub and cache failures all mean: no weights here
        source = configuration.hf_hub_id or configuration.url or configuration.file
        raise PyTorchGUIError(f"cannot fetch timm's pretrained weights of {name} from {source} "
                              f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}): "
                              "timm downloads them from the Hugging Face Hub, which needs internet; download "
                              "them once on a machine with internet (timm caches them in ~/.cache/huggingface) "
                              "or import without --pretrained and give the state_dict with --weights") from None


def _activation(call, builder, module: torch.nn.Module, catalog: Catalog, base: str, source: str) -> str:
    """`module` (an activation a timm layer holds) as a node after `source`."""
    type_name = type(module).__name__
    if isinstance(module, torch.nn.Identity):
        return source
    if type_name not in catalog.activations:
        raise MappingError(f"ends in the activation {type(module).__module__}.{type_name}, which is not in "
                           "PyTorchGUI's catalogue", "create the model with act_layer set to a torch.nn activation")
    return builder.add(type_name, _module_values(module, catalog.node_entry(type_name)), [source],
                       base=f"{base}.act")


def _batch_norm_act(call, builder, module) -> str:
    """timm's BatchNormAct2d (BatchNorm2d, dropout, activation in one module)."""
    catalog = builder.network.catalog
    target = call.node.target
    values = _module_values(module, catalog.node_entry("BatchNorm2d"))
    name = builder.add("BatchNorm2d", values, call.tensors()[:1], module=target)
    return _activation(call, builder, module.act, catalog, target, name)


def _same_pads(input_shape: tuple[int, ...], kernel, stride, dilation) -> list[int]:
    """The left/right, top/bottom pads TensorFlow's 'SAME' adds (timm.layers.padding.pad_same)."""
    from timm.layers.padding import get_same_padding

    pads = []
    for size, k, s, d in reversed(list(zip(input_shape[-2:], kernel, stride, dilation))):
        total = get_same_padding(size, k, s, d)
        pads += [total // 2, total - total // 2]
    return pads


def _pair(value) -> list[int]:
    return list(value) if isinstance(value, (tuple, list)) else [value, value]


def _conv2d_same(call, builder, module) -> str:
    """timm's Conv2dSame: TensorFlow's 'SAME' padding for this input size, then Conv2d."""
    catalog = builder.network.catalog
    source = call.tensors()[0]
    pads = _same_pads(call.shape_of(source), module.kernel_size, module.stride, module.dilation)
    padded = builder.add("Pad", {"pads": pads, "mode": "constant", "value": 0.0}, [source],
                         base=f"{call.node.target}.pad") if any(pads) else source
    values = {**_module_values(module, catalog.node_entry("Conv2d")), "padding": [0, 0]}
    return builder.add("Conv2d", values, [padded], module=call.node.target)


def _standardized_conv(call, builder, module) -> str:
    """timm's StdConv2d, ScaledStdConv2d and their 'Same' forms: a StandardizedConv2d (with
    the gain and its scale for the Scaled ones), after a Pad for TensorFlow's 'SAME' padding
    when the module pads so (`same_pad`), as Conv2dSame does."""
    catalog = builder.network.catalog
    source = call.tensors()[0]
    padded, padding = source, _pair(module.padding)
    if getattr(module, "same_pad", False):
        pads = _same_pads(call.shape_of(source), module.kernel_size, module.stride, module.dilation)
        padded = builder.add("Pad", {"pads": pads, "mode": "constant", "value": 0.0}, [source],
                             base=f"{call.node.target}.pad") if any(pads) else source
    values = {**_module_values(module, catalog.node_entry("StandardizedConv2d")), "padding": padding,
              "gain": getattr(module, "gain", None) is not None}
    return builder.add("StandardizedConv2d", values, [padded], module=call.node.target)


LOWEST = -torch.finfo(torch.float32).max  # max pooling's padding: below every value, and a number JSON can write


def _pool2d_same(type_name: str, pad_value: float):
    def read(call, builder, module) -> str:
        source = call.tensors()[0]
        kernel, stride = _pair(module.kernel_size), _pair(module.stride)
        dilation = _pair(getattr(module, "dilation", 1))
        pads = _same_pads(call.shape_of(source), kernel, stride, dilation)
        padded = builder.add("Pad", {"pads": pads, "mode": "constant", "value": pad_value}, [source],
                             base=f"{call.node.target}.pad") if any(pads) else source
        values: dict[str, Any] = {"kernel_size": kernel, "stride": stride, "padding": 0,
                                  "ceil_mode": bool(module.ceil_mode)}
        if type_name == "MaxPool2d":
            values["dilation"] = dilation
        else:
            values["count_include_pad"] = bool(module.count_include_pad)
        return builder.add(type_name, values, [padded])

    return read


def _resampled_position(call, builder) -> str:
    """timm's resample_abs_pos_embed, which models of a dynamic image size call on every
    forward: the position embedding itself when the input is the size it was made for."""
    embedding = call.tensors()[0]
    if call.shape_of(embedding) != call.shape():
        raise MappingError(f"resizes the position embedding from {list(call.shape_of(embedding))} to "
                           f"{list(call.shape())}", "create the model with img_size set to the input size")
    return builder.same(embedding)


@functools.cache
def function_readers() -> dict[Any, Any]:
    """timm's functions kept whole (its notrace list) -> reader(call, builder)."""
    try:
        from timm.layers.pos_embed import resample_abs_pos_embed
    except ImportError:  # timm missing: nothing of timm's to map
        return {}
    return {resample_abs_pos_embed: _resampled_position}


@functools.cache
def module_readers() -> dict[type, Any]:
    """timm's module classes kept whole -> reader(call, builder, module) adding their nodes."""
    try:
        from timm.layers.conv2d_same import Conv2dSame
        from timm.layers.norm_act import BatchNormAct2d
        from timm.layers.pool2d_same import AvgPool2dSame, MaxPool2dSame
        from timm.layers.std_conv import ScaledStdConv2d, ScaledStdConv2dSame, StdConv2d, StdConv2dSame
    except ImportError:  # timm missing: nothing of timm's to map
        return {}
    standardized = dict.fromkeys((StdConv2d, StdConv2dSame, ScaledStdConv2d, ScaledStdConv2dSame), _standardized_conv)
    return {**standardized, BatchNormAct2d: _batch_norm_act, Conv2dSame: _conv2d_same,
            AvgPool2dSame: _pool2d_same("AvgPool2d", 0.0), MaxPool2dSame: _pool2d_same("MaxPool2d", LOWEST)}


"""Block-wise rendering of the lite transformer, exact: every block uses the whole image's
normalisation statistics.

The transformer (`nst.fast.LiteEngine`) normalises every channel of 13 layers over the whole
image (Magenta's conditional instance normalisation: a GlobalAveragePool takes the mean, a
second one the variance), so tiles rendered on their own would each get their own tone (Ma et
al. 2020, "Block Shuffle"). Here the graph is cut after each normalised convolution, at its
int8 output, into 14 segments, and the pools' outputs become the segments' inputs:

1. each segment runs block by block over the whole image, each block with a margin covering
   the segment's receptive field (its convolutions' reach at their resolutions), block offsets
   aligned to the network's largest stride so every layer's grid coincides with the whole
   image's and the graph's reflect padding acts only at the image's own borders;
2. the inner parts of the blocks' outputs are kept whole-image, as the int8 tensors the graph
   itself passes on (1 byte a value; the largest, 8 channels at full resolution, is 8 bytes a
   pixel), and freed once no later segment reads them;
3. the histogram of a kept convolution output's 256 levels per channel gives that layer's
   whole-image mean and the graph's own quantized variance (the mean of the quantized squared
   deviations) in one pass, and the next segment takes them.

Every convolution runs once (plus its margin), so the cost is about the whole rendering's, and
memory is one block's working set plus the kept tensors instead of ~300 bytes a pixel.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import numpy_helper

from nst import tiling

# The int8 levels in the order of their bytes read as uint8 (0..127, then -128..-1).
_LEVELS = np.arange(256, dtype=np.uint8).view(np.int8).astype(np.float32)


@dataclass(frozen=True)
class NormLayer:
    """One normalisation layer: the int8 convolution output it normalises and its quantization."""

    raw: str  # the int8 convolution output whose statistics the layer takes
    mean: str  # the mean's GlobalAveragePool output, now a segment input (1, C, 1, 1)
    variance: str  # the variance's GlobalAveragePool output, likewise
    raw_quant: tuple[float, int]  # (scale, zero point) of `raw`
    mean_quant: tuple[float, int]  # of the mean, quantized before the deviations are taken
    square_quant: tuple[float, int]  # of the squared deviations, quantized before their mean

    def statistics(self, histogram: np.ndarray) -> dict[str, np.ndarray]:
        """The layer's (1, C, 1, 1) mean and variance from the (C, 256) counts of `raw`'s levels,
        computed as the graph computes them."""
        values = _dequantize(_LEVELS, self.raw_quant)
        count = histogram.sum(axis=1)
        mean = (histogram @ values.astype(np.float64)) / count
        mean_used = _dequantize(
            _quantize(mean.astype(np.float32), self.mean_quant), self.mean_quant
        )
        deviation = values[None, :] - mean_used[:, None]
        squares = _dequantize(
            _quantize(deviation * deviation, self.square_quant), self.square_quant
        )
        variance = (histogram * squares.astype(np.float64)).sum(axis=1) / count
        shape = (1, -1, 1, 1)
        return {
            self.mean: mean.astype(np.float32).reshape(shape),
            self.variance: variance.astype(np.float32).reshape(shape),
        }


def _quantize(x: np.ndarray, quant: tuple[float, int]) -> np.ndarray:
    scale, zero = quant
    return np.clip(np.rint(x / np.float32(scale)) + zero, -128, 127)


def _dequantize(q: np.ndarray, quant: tuple[float, int]) -> np.ndarray:
    scale, zero = quant
    return ((q - zero) * np.float32(scale)).astype(np.float32)


@dataclass(frozen=True)
class Segment:
    """A piece of the graph between two normalisations, run block by block."""

    model: bytes  # the piece as an ONNX model
    inputs: tuple[str, ...]  # kept tensors, statistics and graph inputs it reads
    outputs: tuple[str, ...]  # tensors it hands to later segments (or the graph's output)
    margin: int  # full-resolution pixels each block needs beyond its inner part


@dataclass(frozen=True)
class CutGraph:
    """The transformer cut at its normalisations: segments in order, layer k before segment k."""

    segments: tuple[Segment, ...]
    layers: tuple[NormLayer, ...]
    content: str  # the graph's image input (1, H, W, 3)
    output: str  # the graph's image output (1, H, W, 3)
    stride: int  # the network's largest downsampling: block offsets are multiples of it


def cut_graph(model: onnx.ModelProto) -> CutGraph:
    """Cut the size-agnostic transformer (`nst.fast._size_agnostic`) at its normalisations."""
    graph = model.graph
    constants = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    content, vector = graph.input[0].name, graph.input[1].name
    output = graph.output[0].name
    layers = tuple(_norm_layers(graph.node, producer, constants))
    statistics = {
        name: k for k, layer in enumerate(layers, 1) for name in (layer.mean, layer.variance)
    }

    live = _ancestors(graph.node, producer, [output], stop=set(statistics))
    # A node's stage: the last layer whose statistics it depends on; -1 for nodes that depend on
    # the weights and the style vector only, which every segment that needs them recomputes.
    stage: dict[str, int] = {name: -1 for name in constants} | {vector: -1, content: 0}
    stage |= statistics
    for node in live:
        node_stage = max((stage[name] for name in node.input if name), default=-1)
        stage |= {out: node_stage for out in node.output}

    # Tensors computed in one stage and read in a later one are kept between segments; a
    # dequantized tensor is kept as its int8 input, its DequantizeLinear rerun by the reader.
    kept = {layer.raw for layer in layers}
    for node in live:
        for name in node.input:
            if name and 0 <= stage[name] < stage[node.output[0]]:
                dequantize = producer[name]
                kept.add(dequantize.input[0] if dequantize.op_type == "DequantizeLinear" else name)

    scales = _resolution(live, constants, content)
    segments = []
    for k in range(len(layers) + 1):
        outputs = sorted(n for n in kept if stage[n] == k) + ([output] if k == len(layers) else [])
        stop = {n for n in kept if stage[n] < k} | set(statistics) | {content, vector}
        nodes = _ancestors(graph.node, producer, outputs, stop=stop)
        reads = {name for node in nodes for name in node.input}
        inputs = sorted(reads & stop)
        reach = sum(_reach(node, scales) for node in nodes)
        margin = -(-reach // max(scales.values())) * max(scales.values())
        model_bytes = _submodel(model, nodes, inputs, outputs, producer)
        segments.append(Segment(model_bytes, tuple(inputs), tuple(outputs), margin))
    return CutGraph(tuple(segments), layers, content, output, max(scales.values()))


def _norm_layers(nodes, producer, constants) -> Iterator[NormLayer]:
    """Each layer's mean pool reads a dequantized convolution output; its variance pool follows."""
    pools = [node for node in nodes if node.op_type == "GlobalAveragePool"]
    consumers = {name: [n for n in nodes if name in n.input] for p in pools for name in p.output}
    for mean_pool, variance_pool in zip(pools[0::2], pools[1::2], strict=True):
        raw = producer[mean_pool.input[0]]
        squares = producer[variance_pool.input[0]]
        (mean_q,) = consumers[mean_pool.output[0]]
        assert raw.op_type == squares.op_type == "DequantizeLinear", "not a normalisation"
        assert mean_q.op_type == "QuantizeLinear", "not a normalisation"
        yield NormLayer(
            raw=raw.input[0],
            mean=mean_pool.output[0],
            variance=variance_pool.output[0],
            raw_quant=_quant(raw, constants),
            mean_quant=_quant(mean_q, constants),
            square_quant=_quant(squares, constants),
        )


def _quant(node: onnx.NodeProto, constants: dict[str, np.ndarray]) -> tuple[float, int]:
    """A per-tensor (De)QuantizeLinear's scale and zero point."""
    return float(constants[node.input[1]]), int(constants[node.input[2]])


def _ancestors(nodes, producer, outputs, stop: set[str]) -> list[onnx.NodeProto]:
    """The nodes computing `outputs` from `stop` and the constants, in the graph's order."""
    needed: set[int] = set()
    pending = list(outputs)
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen or name in stop or name not in producer:
            continue
        seen.add(name)
        node = producer[name]
        needed.add(id(node))
        pending.extend(n for n in node.input if n)
    return [node for node in nodes if id(node) in needed]


def _resolution(nodes, constants, content: str) -> dict[str, int]:
    """Full-resolution pixels per pixel of each image-shaped tensor (1, 2 or 4)."""
    scale = {content: 1}
    for node in nodes:
        known = [scale[name] for name in node.input if name in scale]
        if not known:
            continue
        factor = known[0]
        if node.op_type == "Conv":
            factor *= _attribute(node, "strides", [1, 1])[0]
        elif node.op_type == "Resize":
            factor = round(factor / float(constants[node.input[2]][2]))
        scale |= {out: factor for out in node.output}
    return scale


def _reach(node: onnx.NodeProto, scales: dict[str, int]) -> int:
    """How far, in full-resolution pixels, a convolution's output looks beyond its own pixel."""
    if node.op_type != "Conv":
        return 0
    radius = (_attribute(node, "kernel_shape", [1, 1])[0] - 1) // 2
    return radius * scales[node.input[0]] if radius else 0  # 1×1: the style vector's too


def _attribute(node: onnx.NodeProto, name: str, default):
    for attribute in node.attribute:
        if attribute.name == name:
            return onnx.helper.get_attribute_value(attribute)
    return default


def _submodel(model, nodes, inputs, outputs, producer) -> bytes:
    """`nodes` as a model of their own, reading `inputs` and writing `outputs`."""
    used = {name for node in nodes for name in node.input}
    graph = onnx.helper.make_graph(
        nodes,
        "segment",
        [_value_info(name, producer) for name in inputs],
        [_value_info(name, producer) for name in outputs],
        [init for init in model.graph.initializer if init.name in used],
    )
    sub = onnx.helper.make_model(graph, opset_imports=model.opset_import)
    sub.ir_version = model.ir_version
    return sub.SerializeToString()


def _value_info(name: str, producer) -> onnx.ValueInfoProto:
    """Int8 for what a QuantizeLinear wrote, float otherwise; shapes left to onnxruntime."""
    quantized = name in producer and producer[name].op_type == "QuantizeLinear"
    kind = onnx.TensorProto.INT8 if quantized else onnx.TensorProto.FLOAT
    return onnx.helper.make_tensor_value_info(name, kind, None)


class BlockRenderer:
    """The size-agnostic transformer (`nst.fast._size_agnostic`'s bytes) cut into a `CutGraph`, its
    segments as onnxruntime sessions made with the whole transformer's options."""

    def __init__(self, model: bytes, session_options, providers: list[str]) -> None:
        import onnxruntime

        # Without an arena each block's tensors are freed after its run: 14 arenas, each keeping
        # its segment's largest block, took twice the one-pass memory at 2048×1362 px.
        session_options.enable_cpu_mem_arena = False
        parsed = onnx.load_from_string(model)
        self.graph = cut_graph(parsed)
        self._vector = parsed.graph.input[1].name
        self._sessions = [
            onnxruntime.InferenceSession(segment.model, session_options, providers=providers)
            for segment in self.graph.segments
        ]

    def render(self, content: np.ndarray, vector: np.ndarray, block: int) -> np.ndarray:
        """(1, H, W, 3) content with a style vector to an (H, W, 3) image, `block` pixels square
        at a time. H and W must be multiples of the network's stride (`render_any_size` pads)."""
        graph = self.graph
        height, width = content.shape[1:3]
        if height % graph.stride or width % graph.stride:
            raise ValueError(f"{height}×{width} is not a multiple of {graph.stride}")
        block = max(graph.stride, block - block % graph.stride)
        last_read = {name: k for k, segment in enumerate(graph.segments) for name in segment.inputs}
        raw_layers = {layer.raw: layer for layer in graph.layers}
        given = {self._vector: vector.astype(np.float32)}  # and each layer's statistics
        kept = {graph.content: content}
        for k, (segment, session) in enumerate(zip(graph.segments, self._sessions, strict=True)):
            histograms: dict[str, np.ndarray] = {}
            for inner in tiling.tile((height, width), block, graph.stride):
                outer = tiling.widen(inner, segment.margin, (height, width))
                feeds = {
                    name: given[name]
                    if name in given
                    else np.ascontiguousarray(self._part(kept[name], name, outer, height))
                    for name in segment.inputs
                }
                outputs = session.run(segment.outputs, feeds)
                for name, out in zip(segment.outputs, outputs, strict=True):
                    window = tiling.relative(inner, outer)
                    result = self._part(out, name, window, _length(outer[0]))
                    if name not in kept:
                        factor = _length(inner[0]) // result.shape[self._axes(name)[0]]
                        kept[name] = self._allocate(out, name, height // factor, width // factor)
                    self._part(kept[name], name, inner, height)[...] = result
                    if name in raw_layers:
                        histograms[name] = histograms.get(name, 0) + _histogram(result)
            for name, counts in histograms.items():
                given |= raw_layers[name].statistics(counts)
            kept = {name: a for name, a in kept.items() if last_read.get(name, k + 1) > k}
        return kept[graph.output][0]

    def _axes(self, name: str) -> tuple[int, int]:
        """The spatial axes: the graph's image input and output are NHWC, all inside is NCHW."""
        return (1, 2) if name in (self.graph.content, self.graph.output) else (2, 3)

    def _part(self, array: np.ndarray, name: str, window: tiling.Window, height: int) -> np.ndarray:
        """The view of `array`, which spans `height` full-resolution rows, under `window`."""
        axes = self._axes(name)
        factor = height // array.shape[axes[0]]
        index = [slice(None)] * array.ndim
        for axis, span in zip(axes, window, strict=True):
            index[axis] = slice(span.start // factor, span.stop // factor)
        return array[tuple(index)]

    def _allocate(self, like: np.ndarray, name: str, height: int, width: int) -> np.ndarray:
        shape = list(like.shape)
        axes = self._axes(name)
        shape[axes[0]], shape[axes[1]] = height, width
        return np.empty(shape, like.dtype)


def _length(span: slice) -> int:
    return span.stop - span.start


def _histogram(raw: np.ndarray) -> np.ndarray:
    """(C, 256) counts of an int8 (1, C, h, w) tensor's levels, in `_LEVELS` order."""
    return np.stack([np.bincount(c.ravel().view(np.uint8), minlength=256) for c in raw[0]])

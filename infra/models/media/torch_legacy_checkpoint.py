"""Reads a PyTorch checkpoint into numpy arrays without torch.

Two layouts exist. The legacy one (torch < 1.6, which the EfficientNet-Lite0 weights use) is a run
of pickles: a magic number, the protocol version, system info, the object itself (storages are
persistent ids), then the list of storage keys followed by each storage as an 8-byte little-endian
element count and its raw bytes. The zip layout (torch >= 1.6) keeps the object pickle in
`<name>/data.pkl` and each storage in `<name>/data/<key>`. Both are read here.

The unpickler is restricted: it resolves only the few globals a state dict needs and maps them to
numpy, so a malicious checkpoint cannot run code.
"""

import collections
import pickle
import struct
import zipfile

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class UnsupportedCheckpoint(Exception):
    pass


class _StorageType:
    def __init__(self, name):
        if name not in STORAGE_DTYPES:
            raise UnsupportedCheckpoint(f"storage type {name} is not supported")
        self.dtype = np.dtype(STORAGE_DTYPES[name])


class _StorageRef:
    """A storage named by a persistent id; its bytes are attached once the pickle is read."""

    def __init__(self, key, dtype, numel):
        self.key = key
        self.dtype = dtype
        self.numel = numel
        self.array = None


class _PendingTensor:
    def __init__(self, storage, offset, size, stride):
        self.storage = storage
        self.offset = offset
        self.size = tuple(size)
        self.stride = tuple(stride)

    def materialise(self):
        base = self.storage.array
        if base is None:
            raise UnsupportedCheckpoint(f"storage {self.storage.key} has no data")
        item = base.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            base[self.offset:],
            shape=self.size,
            strides=tuple(s * item for s in self.stride),
            writeable=False,
        )
        return np.ascontiguousarray(view)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    return _PendingTensor(storage, storage_offset, size, stride)


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _PendingTensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad, backward_hooks):
    return data


_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, storages):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module, name):
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        found = _ALLOWED.get((module, name))
        if found is None:
            raise UnsupportedCheckpoint(f"refusing global {module}.{name}")
        return found

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, numel[, view_metadata])
        if not isinstance(pid, tuple) or pid[0] != "storage":
            raise UnsupportedCheckpoint(f"unexpected persistent id {pid!r}")
        storage_type, key, numel = pid[1], str(pid[2]), pid[4]
        if len(pid) > 5 and pid[5] is not None:
            raise UnsupportedCheckpoint("storage views are not supported")
        ref = self.storages.get(key)
        if ref is None:
            ref = _StorageRef(key, storage_type.dtype, numel)
            self.storages[key] = ref
        return ref


def _materialise(obj):
    if isinstance(obj, _PendingTensor):
        return obj.materialise()
    if isinstance(obj, dict):
        return collections.OrderedDict((k, _materialise(v)) for k, v in obj.items())
    return obj


def _load_legacy(f):
    magic = pickle.load(f)
    if magic != LEGACY_MAGIC:
        raise UnsupportedCheckpoint("not a legacy torch checkpoint (bad magic number)")
    protocol = pickle.load(f)
    if protocol != 1001:
        raise UnsupportedCheckpoint(f"legacy protocol {protocol} is not supported")
    sys_info = pickle.load(f)
    if not sys_info.get("little_endian", False):
        raise UnsupportedCheckpoint("big-endian checkpoints are not supported")
    storages = {}
    obj = _Unpickler(f, storages).load()
    keys = pickle.load(f)
    for key in keys:
        ref = storages[str(key)]
        (numel,) = struct.unpack("<q", f.read(8))
        raw = f.read(numel * ref.dtype.itemsize)
        if len(raw) != numel * ref.dtype.itemsize:
            raise UnsupportedCheckpoint(f"storage {key} is truncated")
        ref.array = np.frombuffer(raw, dtype=ref.dtype)
    return obj


def _load_zip(path):
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pkl = next((n for n in names if n.endswith("/data.pkl")), None)
        if pkl is None:
            raise UnsupportedCheckpoint("zip checkpoint without data.pkl")
        prefix = pkl[: -len("data.pkl")]
        storages = {}
        with archive.open(pkl) as f:
            obj = _Unpickler(f, storages).load()
        for key, ref in storages.items():
            ref.array = np.frombuffer(archive.read(f"{prefix}data/{key}"), dtype=ref.dtype)
        return obj


def load_state_dict(path):
    """The checkpoint's state dict as an OrderedDict of name -> contiguous numpy array."""
    if zipfile.is_zipfile(path):
        obj = _load_zip(path)
    else:
        with open(path, "rb") as f:
            try:
                obj = _load_legacy(f)
            except (EOFError, pickle.UnpicklingError) as error:
                raise UnsupportedCheckpoint(f"the checkpoint is truncated or corrupt: {error}") from error
    if isinstance(obj, dict) and "state_dict" in obj:
        obj = obj["state_dict"]
    return _materialise(obj)

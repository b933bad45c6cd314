"""Writing ONNX files reproducibly, shared by models/train/train.py and models/gen_models.py."""
import onnx
from onnx import helper


def save(model, path, producer):
    """Writes `model` so that the same model always gives the same bytes: opset imports sorted
    (skl2onnx emits them in set order), a fixed producer, no doc string, deterministic protobuf
    serialization; checked with onnx.checker first."""
    ops = sorted((o.domain, o.version) for o in model.opset_import)
    del model.opset_import[:]
    for d, v in ops:
        model.opset_import.append(helper.make_opsetid(d, v))
    model.producer_name = producer
    model.producer_version = "1"
    model.doc_string = ""
    onnx.checker.check_model(model)
    with open(path, "wb") as f:
        f.write(model.SerializeToString(deterministic=True))


def rename_input(model, name="features"):
    """Renames the graph's first input (skl2onnx calls it "X") and every use of it: the
    runtime's convention is "features"."""
    old = model.graph.input[0].name
    model.graph.input[0].name = name
    for node in model.graph.node:
        for i, n in enumerate(node.input):
            if n == old:
                node.input[i] = name

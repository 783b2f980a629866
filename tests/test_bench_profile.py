"""bench/profile_step.py's op table: self time is an op's time minus the ops nested in it, per thread line."""

import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
import profile_step  # noqa: E402

xplane_pb2 = profile_step.xplane_pb2


def _xspace(lines: dict) -> "xplane_pb2.XSpace":
    """lines: name -> [(op name, op type or "", start ps, duration ps)] on the host plane, plus a device plane."""
    space = xplane_pb2.XSpace()
    plane = space.planes.add(name=profile_step.HOST_PLANE)
    ids = {}
    for line_name, events in lines.items():
        line = plane.lines.add(name=line_name)
        for name, op_type, start, duration in events:
            if (name, op_type) not in ids:
                ids[name, op_type] = len(ids) + 1
                plane.event_metadata[ids[name, op_type]].name = name
                plane.event_metadata[ids[name, op_type]].display_name = op_type
            line.events.add(metadata_id=ids[name, op_type], offset_ps=start, duration_ps=duration)
    other = space.planes.add(name="/device:GPU:0")
    other.event_metadata[1].display_name = "Conv2D"
    other.lines.add(name="stream").events.add(metadata_id=1, offset_ps=0, duration_ps=10**12)
    return space


def test_nested_ops_leave_their_time_to_the_innermost_op():
    space = _xspace({
        "tf_Compute/1": [("call:StatefulPartitionedCall", "StatefulPartitionedCall", 0, 100),
                         ("g/conv:Conv2D", "Conv2D", 10, 50),
                         ("MemoryAllocation", "", 20, 5),  # not an op: no type, does not count
                         ("g/relu:Relu", "Relu", 70, 20),
                         ("g/conv:Conv2D", "Conv2D", 200, 30)],
        "tf_Compute/2": [("d/cast:Cast", "Cast", 15, 40)],  # another thread: overlaps in time, not nested
    })
    rows = profile_step.op_self_times(space)
    got = sorted((name, op_type, round(seconds * 1e12)) for name, op_type, seconds in rows)
    assert got == [("call", "StatefulPartitionedCall", 30), ("d/cast", "Cast", 40), ("g/conv", "Conv2D", 30),
                   ("g/conv", "Conv2D", 50), ("g/relu", "Relu", 20)]


def test_ranked_sums_per_key_and_divides_by_steps():
    rows = [("a", "Conv2D", 0.004), ("b", "Conv2D", 0.002), ("c", "Cast", 0.001)]
    assert profile_step.ranked(rows, 1, steps=2, top=5) == [("Conv2D", 1.0, 3.0), ("Cast", 0.5, 0.5)]
    assert profile_step.ranked(rows, 0, steps=1, top=1) == [("a", 1.0, 4.0)]

"""On-device Bio-FO: the firmware trains a 2 x 32 network on the 8x8 digits (scikit-learn's offline copy)
on Spike for 10 epochs per layer, and for one short epoch on the RTL core; each run is compared with the
Python fixed-point model (bit for bit) and with the same algorithm in float; and the same network on 400
training samples linked for the `mcu` memory map (256 KiB data), its memory from the ELF's sections and the
measured stack high-water mark. Writes benchmarks/results/learning_on_device.json."""
from __future__ import annotations

from common import write_result

from edge_sdk.learning.commands import learn_on_device


def main() -> None:
    spike = learn_on_device("digits", "spike", "2x32", 10, [0.05, 0.01], 0)
    print(f"spike: per layer {spike['per_layer_test_accuracy']} (float {spike['float_per_layer_test_accuracy']}), "
          f"bit-exact {spike['bit_exact']}, {spike['cycles_per_sample']} instructions per sample", flush=True)
    rtl = learn_on_device("digits", "rtl", "2x32", 1, [0.05, 0.01], 0, max_train=200, max_test=100)
    print(f"rtl: per layer {rtl['per_layer_test_accuracy']}, bit-exact {rtl['bit_exact']}, "
          f"{rtl['cycles_per_sample']} cycles per sample", flush=True)
    mcu = learn_on_device("digits", "spike", "2x32", 10, [0.05, 0.01], 0, max_train=400, memory="mcu")
    print(f"mcu: per layer {mcu['per_layer_test_accuracy']}, bit-exact {mcu['bit_exact']}, memory {mcu['memory']}",
          flush=True)
    write_result("learning_on_device", {"spike": spike, "rtl": rtl, "mcu": mcu})


if __name__ == "__main__":
    main()

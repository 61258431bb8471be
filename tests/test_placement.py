"""On a GPU, train()'s batches run there with no trip through the CPU.

No GPU here, so this checks what decides placement: TensorFlow puts an op on the GPU when no
device is named and a GPU kernel is registered for its type and dtypes (the pip wheel registers
them with or without a GPU). An op without one would run on the CPU, copying its inputs from the
GPU and its outputs back, every batch."""
import numpy as np
from support import tf, train
from tensorflow.python.framework import kernels


def has_gpu_kernel(op):
    for kernel in kernels.get_registered_kernels_for_op(op.type).kernel:
        if kernel.device_type in ('GPU', 'DEFAULT') and all(
                op.get_attr(c.name).as_datatype_enum in c.allowed_values.list.type
                for c in kernel.constraint if c.allowed_values.list.type):
            return True
    return False


def ops_needed_for(fetches):
    """Every op a sess.run of `fetches` executes: their inputs and control inputs, transitively."""
    needed, todo = set(), [getattr(fetch, 'op', fetch) for fetch in fetches]
    while todo:
        op = todo.pop()
        if op not in needed:
            needed.add(op)
            todo += [tensor.op for tensor in op.inputs] + list(op.control_inputs)
    return needed


def cpu_bound(ops):
    return sorted('{} ({}{})'.format(op.name, op.type, ', on ' + op.device if op.device else '')
                  for op in ops if op.device or not has_gpu_kernel(op))


def test_every_op_of_a_training_batch_can_run_on_a_gpu(nb, digits, tmp_path, monkeypatch):
    batch_fetches = []
    session_run = tf.Session.run

    def recording_run(self, fetches, feed_dict=None, **kwargs):
        if feed_dict and len(feed_dict) == 3:  # real images, z and the learning rate: a training batch
            batch_fetches.append(fetches)
        return session_run(self, fetches, feed_dict, **kwargs)

    monkeypatch.setattr(tf.Session, 'run', recording_run)
    train(nb, digits, tmp_path, max_batches=4)

    assert len(batch_fetches) == 4
    *train_ops, d_loss, g_loss = batch_fetches[0]
    ops = ops_needed_for(batch_fetches[0])
    assert len(ops) > 300, 'the whole step: both networks, their gradients and Adam'
    assert cpu_bound(ops) == []
    # what comes back to the host each batch: two scalars
    assert d_loss.shape.rank == 0 and g_loss.shape.rank == 0
    assert len(train_ops) == 2 and all(op.outputs == [] for op in train_ops)


def test_the_check_finds_an_op_that_would_run_on_the_cpu():
    with tf.Graph().as_default():
        images = tf.placeholder(tf.float32, [None, 28, 28, 1])
        on_gpu = tf.reduce_mean(tf.square(images))
        as_text = tf.strings.as_string(on_gpu)  # string ops have CPU kernels only
        with tf.device('/cpu:0'):
            pinned = tf.identity(on_gpu, name='pinned')
        from_python = tf.py_func(np.float32, [on_gpu], tf.float32)

        assert cpu_bound(ops_needed_for([on_gpu])) == []
        assert [entry.split(' ')[0] for entry in cpu_bound(ops_needed_for([as_text, pinned, from_python]))] == [
            'AsString', 'PyFunc', 'pinned']

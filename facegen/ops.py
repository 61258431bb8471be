"""The generator's transposed convolution: TensorFlow's, with a weight gradient that runs faster
on a CPU (the same sums). Why and where it pays: docs/PERFORMANCE.md."""
from .env import import_tensorflow

tf = import_tensorflow()

# The dilated gradient pays only when its reduction (batch x input height x width) is large enough,
# and its batch is the layer's output channels: below these, TensorFlow's own gradient is as fast
# or faster (measured in docs/PERFORMANCE.md).
DILATED_GRADIENT_MIN_BATCH = 16
DILATED_GRADIENT_MIN_CHANNELS = 64
FILTER_GRADIENT_SCOPE = 'filter_gradient'  # names its ops, for the bench's time breakdown


def tensorflow_conv2d_transpose(x, w, stride):
    """TensorFlow's transposed convolution, SAME padding, output stride x the input's size."""
    output_shape = tf.stack([tf.shape(x)[0], x.shape[1] * stride, x.shape[2] * stride, w.shape[2]])
    return tf.nn.conv2d_transpose(x, w, output_shape, [1, stride, stride, 1], 'SAME')


def conv2d_transpose(x, w, stride):
    """tensorflow_conv2d_transpose, the same sums, with a faster weight gradient on a CPU.

    dW[kh, kw] = sum over n, i, j of dy[n, s*i + kh - top, s*j + kw - top] * x[n, i, j] is also one
    forward convolution of dy, with its batch as channels, by x as the filter, dilated by the
    stride s, and oneDNN runs that closer to the sgemm rate than its stride-s filter-gradient kernel.
    On a GPU, or where it would not pay (see the constants above), TensorFlow's own gradient."""
    kernel, channels = int(w.shape[0]), int(w.shape[2])
    static_batch = x.shape[0]
    if (channels < DILATED_GRADIENT_MIN_CHANNELS or kernel < stride or tf.config.list_physical_devices('GPU')
            or (static_batch is not None and static_batch < DILATED_GRADIENT_MIN_BATCH)):
        return tensorflow_conv2d_transpose(x, w, stride)
    strides = [1, stride, stride, 1]
    top = (kernel - stride) // 2  # how SAME pads the adjoint convolution
    bottom = kernel - stride - top

    @tf.custom_gradient
    def transposed_conv(x, w):
        def dilated_filter_gradient(dy):
            # padded inside the convolution, not by tf.pad: oneDNN then picks a faster kernel
            dw = tf.nn.conv2d(tf.transpose(dy, [3, 1, 2, 0]), tf.transpose(x, [1, 2, 0, 3]), [1, 1, 1, 1],
                              [[0, 0], [top, bottom], [top, bottom], [0, 0]], dilations=[1, stride, stride, 1])
            return tf.transpose(dw, [1, 2, 0, 3])

        def grad(dy):
            with tf.name_scope(FILTER_GRADIENT_SCOPE):
                if static_batch is not None:
                    dw = dilated_filter_gradient(dy)
                else:  # the batch is known only when the step runs
                    dw = tf.cond(tf.shape(x)[0] >= DILATED_GRADIENT_MIN_BATCH, lambda: dilated_filter_gradient(dy),
                                 lambda: tf.nn.conv2d_backprop_filter(dy, tf.shape(w), x, strides, 'SAME'))
            return tf.nn.conv2d(dy, w, strides, 'SAME'), dw
        return tensorflow_conv2d_transpose(x, w, stride), grad
    return transposed_conv(x, tf.convert_to_tensor(w))

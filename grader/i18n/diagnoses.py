"""Named mistakes (grader/diagnose.py): one message per diagnosis, keys ``diagnosis.<code>`` (a
code with several wordings: ``diagnosis.<code>.<variant>``). The code is the diagnosis's id and
is never translated; the message is rendered when the diagnosis fires.

Placeholders: ``{What}`` the subject ("Your output", from ``diagnosis.what.*``); ``{mode}`` the
case's padding mode (quoted); ``{padding}``, ``{flag}``, ``{n}``, ``{shape}``, ``{expected}`` numbers
and shapes; ``{verb}`` from ``diagnosis.verb.*``."""

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        # subjects and small pieces
        "diagnosis.what.output": "Your output",
        "diagnosis.what.input": "Your input gradient",
        "diagnosis.what.param": "Your grads[{part}]",
        "diagnosis.verb.counted": "are",
        "diagnosis.verb.not_counted": "are not",
        "diagnosis.heatmap_title": "absolute error of sample 0, channel by channel",
        # variants of the layer (explain the output and every gradient)
        "diagnosis.flipped_kernel": "{What} matches a *convolution* with the kernel flipped. This layer computes "
                                    "cross-correlation (as torch does): slide the kernel without flipping it.",
        "diagnosis.zero_padding_instead": "{What} is right in the interior but matches *zero* padding at the border; "
                                          "this case uses `padding_mode={mode}`.",
        "diagnosis.padding_ignored": "{What} matches the layer *without padding*: pad the input by `padding` on each "
                                     "side before sliding the window.",
        "diagnosis.padding_too_small": "{What} matches padding 1, but this case asks for `padding={padding}`: pad the "
                                       "input by `padding` on each side (the output grows by 2 per unit of padding).",
        "diagnosis.stride_ignored": "{What} matches stride 1: the window must move by `stride` positions (output size "
                                    "floor((W - F + 2P) / S) + 1).",
        "diagnosis.stride_ignored.pool": "{What} matches stride 1: pooling windows move by `stride` (default: the "
                                         "kernel size).",
        "diagnosis.dilation_ignored": "{What} matches dilation 1: with dilation d the kernel taps are d pixels apart "
                                      "(effective kernel size d·(F-1)+1).",
        "diagnosis.bias_missing": "{What} matches the layer without its bias: add `bias[c]` to every position of output "
                                  "channel c.",
        "diagnosis.count_include_pad_swapped": "{What}: the averages at the border divide by the wrong count; with "
                                               "`count_include_pad={flag}` the padded zeros {verb} counted.",
        "diagnosis.output_padding_ignored": "{What} is missing the extra `output_padding` rows/columns at the "
                                            "bottom/right.",
        # alternatives of one part
        "diagnosis.dilation_ignored.taps": "Your output has the right size but matches kernel taps that are *adjacent*: "
                                           "with dilation d the taps are d pixels apart (x[.., y·S + u·d, x·S + v·d]); "
                                           "your output size already uses d, the window does not.",
        "diagnosis.flipped_kernel.weight": "Your weight gradient is flipped in space: dW[o, i, u, v] = Σ grad_out[n, o, "
                                           "y, x] · x_padded[n, i, y·S + u·D, x·S + v·D] — no flip.",
        "diagnosis.max_grad_to_every_element": "Your max-pool gradient is sent to every element of the window; only the "
                                               "position that was the maximum (the argmax) receives the upstream "
                                               "gradient.",
        "diagnosis.bn_running_stats_in_training": "In training mode batch norm normalizes with the statistics of the "
                                                  "*current batch*; your output matches normalizing with "
                                                  "`running_mean`/`running_var` (that is eval mode).",
        "diagnosis.bn_batch_stats_in_eval": "In eval mode batch norm normalizes with `running_mean`/`running_var`; your "
                                            "output matches normalizing with the statistics of the current batch "
                                            "(training mode). Check `self.training`.",
        "diagnosis.bn_unbiased_variance": "Your output is normalized with the *unbiased* batch variance (divided by "
                                          "M-1). Normalization uses the biased variance (divided by M = N·H·W); only "
                                          "the running variance is updated with the unbiased one.",
        "diagnosis.bn_backward_constant_stats": "Your input gradient treats the batch mean and variance as constants "
                                                "(dx = γ·g/σ). In training they depend on x: dx = γ/(M·σ) · (M·g − Σg "
                                                "− x̂·Σ(g·x̂)).",
        "diagnosis.bn_running_var_biased": "Your running variance is updated with the *biased* batch variance; torch "
                                           "updates it with the unbiased one (var · M/(M−1)) while normalizing with "
                                           "the biased one.",
        "diagnosis.bn_running_not_updated": "Your running statistics did not change during training forwards: update "
                                            "`self.running_mean` and `self.running_var` (assign to the attributes, not "
                                            "to local variables) in every training forward.",
        "diagnosis.bn_momentum_swapped": "Your running statistics use the momentum the other way round: torch computes "
                                         "running = (1 − momentum)·running + momentum·batch (momentum is the weight of "
                                         "the *new* batch).",
        "diagnosis.bn_momentum_none_ignored": "With `momentum=None` the running statistics are a cumulative average: "
                                              "the factor is 1/num_batches_tracked (after incrementing it), not a fixed "
                                              "momentum of 0.1.",
        "diagnosis.dropout_not_rescaled": "Your output is x·mask without rescaling: inverted dropout divides the kept "
                                          "elements by the keep probability 1−p during training, so that eval mode "
                                          "needs no change.",
        "diagnosis.dropout_scaled_by_p": "Your kept elements are divided by p; divide by the keep probability 1−p.",
        "diagnosis.dropout_multiplied_by_keep_prob": "Your kept elements are multiplied by 1−p (the old, non-inverted "
                                                     "test-time scaling); in training inverted dropout divides them by "
                                                     "1−p.",
        "diagnosis.dropout_not_rescaled.input": "Your input gradient is grad_out·mask without the 1/(1−p) factor: "
                                                "backward multiplies by exactly what forward multiplied x by.",
        "diagnosis.dropout_p1_divides_by_zero": "With p = 1 every element is dropped, and the rescaling 1/(1 − p) "
                                                "divides by zero. Handle p = 1 on its own: the output (and the "
                                                "gradient) is all zeros, as in torch.",
        "diagnosis.dice_global": "Your Dice loss is one ratio over the whole batch; compute Dice per (sample, channel) "
                                 "— sums over the spatial axes only — and average 1 − Dice over samples and channels.",
        "diagnosis.dice_per_sample": "Your Dice loss sums over the channels too (one ratio per sample); compute it per "
                                     "(sample, channel).",
        "diagnosis.dice_eps_missing": "Your Dice loss leaves out the smoothing term `eps` (add it to both the numerator "
                                      "2·Σpt and the denominator Σp + Σt).",
        "diagnosis.loss_sum_instead_of_mean": "Your loss is summed over the elements; `reduction='mean'` divides by "
                                              "their number.",
        "diagnosis.ce_grad_not_divided_by_batch": "Your cross-entropy gradient is N times too large: the loss is the "
                                                  "*mean* over the N samples, so d loss / d logits = (softmax(x) − "
                                                  "onehot(y)) / N. Divide by the batch size in backward too.",
        "diagnosis.mse_grad_missing_factor_2": "Your MSE gradient is missing the factor 2: d/dx (x − t)² = 2(x − t).",
        "diagnosis.loss_grad_sign": "Your loss gradient has the wrong sign.",
        "diagnosis.align_corners_swapped": "Your bilinear interpolation matches the other `align_corners` convention. "
                                           "With align_corners=False (the default) pixel centres are at i + 0.5: src = "
                                           "(dst + 0.5)/scale − 0.5; with True the corner pixels align: src = dst·(in "
                                           "− 1)/(out − 1).",
        "diagnosis.upsample_grad_not_accumulated": "Your upsampling gradient keeps only one of the output gradients "
                                                   "that come from each input pixel (an indexed assignment `dx[..., i, "
                                                   "j] = g` overwrites repeated indices). Every output copied from a "
                                                   "pixel contributes: accumulate with `np.add.at` or sum over the "
                                                   "copies.",
        "diagnosis.avg_grad_not_divided": "Your average-pool gradient is not divided by the window size: each input of "
                                          "a window receives grad_out / (kernel area).",
        "diagnosis.ceil_mode_ignored": "Your output matches `ceil_mode=False`: with ceil_mode=True the output size "
                                       "rounds up, and a last partial window that starts inside the input is kept.",
        "diagnosis.padding_ignored.transposed": "Your output matches `padding=0`: in a transposed convolution "
                                                "`padding` crops `padding` rows/columns from each side of the full "
                                                "output: H_out = (H − 1)·S − 2P + D·(K − 1) + output_padding + 1.",
        "diagnosis.relu_grad_negative": "Your ReLU gradient is wrong where x < 0: it lets the upstream gradient through "
                                        "there. ReLU'(x) = 1 for x > 0 and 0 for x ≤ 0, so dx = grad_out · (x > 0).",
        "diagnosis.relu_grad_negative.sign": "Your ReLU gradient is wrong where x < 0: it matches dx = grad_out · "
                                             "sign(x) (−1 there). ReLU'(x) = 1 for x > 0 and 0 for x ≤ 0, so dx = "
                                             "grad_out · (x > 0).",
        "diagnosis.leaky_relu_branches_swapped": "Your Leaky ReLU multiplies the *positive* inputs by `negative_slope` "
                                                 "and passes the negative ones unchanged: it is x for x > 0 and "
                                                 "negative_slope·x for x ≤ 0.",
        "diagnosis.leaky_relu_branches_swapped.input": "Your Leaky ReLU gradient applies `negative_slope` to the "
                                                       "positive inputs: the derivative is 1 for x > 0 and "
                                                       "negative_slope for x ≤ 0.",
        "diagnosis.leaky_relu_grad_zero_negative": "Your Leaky ReLU gradient is 0 for x ≤ 0 (that is ReLU's): there "
                                                   "the derivative is negative_slope.",
        "diagnosis.elu_grad_missing_alpha": "Your ELU gradient for x ≤ 0 is missing the factor alpha: d/dx α(eˣ − 1) = "
                                            "α·eˣ.",
        "diagnosis.sigmoid_grad_missing_factor": "Your sigmoid gradient is grad_out · σ(x): the derivative is "
                                                 "σ(x)·(1 − σ(x)).",
        "diagnosis.tanh_grad_uses_input": "Your tanh gradient is grad_out · (1 − x²) with the *input* x: the "
                                          "derivative is 1 − tanh²(x), computed from the output t = tanh(x).",
        "diagnosis.softsign_grad_not_squared": "Your softsign gradient is grad_out / (1 + |x|): the derivative is 1 / "
                                               "(1 + |x|)².",
        "diagnosis.softplus_overflow": "Your softplus overflows: log(1 + exp(βx)) computed literally is inf once βx "
                                       "exceeds ~709. Above `threshold` softplus is x itself (torch switches to the "
                                       "identity there); below it use a stable form such as np.logaddexp(0, βx) / β.",
        "diagnosis.ce_log_of_softmax": "Your loss is infinite at large logits: it takes the log of a probability that "
                                       "underflowed to 0 (log 0 = −inf), or of an exp that overflowed. Subtracting the "
                                       "maximum prevents the overflow but not the underflow: compute the "
                                       "log-probabilities directly with log-sum-exp, log softmax(x)ₖ = (xₖ − m) − log "
                                       "Σⱼ exp(xⱼ − m) with m the row maximum, and never take the log of a softmax.",
        "diagnosis.softmax_overflow": "Your softmax overflows at large logits: exp(x) is inf above x ≈ 709, and inf/inf "
                                      "is NaN. Subtract the maximum of each row before exponentiating — softmax(x) = "
                                      "softmax(x − max(x)), and then the largest exponent is exp(0) = 1 (for "
                                      "log-softmax / cross-entropy: log-sum-exp with the max taken out).",
        "diagnosis.maxout_pieces_grouping": "Your Maxout groups the pieces the wrong way: unit j takes the maximum over "
                                            "the consecutive rows j·pieces … j·pieces + pieces − 1 of x Wᵀ + b, i.e. "
                                            "reshape to (N, out_features, pieces) and take the max over the last axis.",
        # generic: read from the error pattern
        "diagnosis.divided_by_batch": "{What} is the right one divided by the batch size N={n}: a layer's backward "
                                      "sums over the batch; only the loss averages.",
        "diagnosis.multiplied_by_batch": "{What} is the right one multiplied by the batch size N={n}.",
        "diagnosis.border_only": "{What} is correct in the interior and wrong only near the border: check how you pad "
                                 "(amount and mode) and the windows that touch it.",
        "diagnosis.gradient_all_zero": "{What} is all zeros: the array was created but nothing was accumulated into it "
                                       "(is the loop or the `+=` that fills it missing, or does it write into a copy?).",
        "diagnosis.empty_gradient": "{What} is empty (shape {shape}).",
        "diagnosis.empty_output": "{What} is empty (shape {shape}).",
        "diagnosis.empty.padding_zero_slice": "This case has padding 0, and a slice `p:-p` with p = 0 is `0:0`, "
                                              "empty: use `p:H + p` (or `p:p + H`) to cut the padding off.",
        "diagnosis.extra_axis": "{What} has shape {shape}, expected {expected}: the same values with an extra or "
                                "missing axis of length 1 (keepdims=True, or a reshape to a row).",
        "diagnosis.bias_grad_not_summed": "grads['bias'] has the shape of the upstream gradient: sum it over the batch "
                                          "and every spatial position (one value per channel).",
        "diagnosis.bias_grad_not_summed.batch": "grads['bias'] is summed over space but not over the batch: sum over "
                                                "axis 0 too.",
        "diagnosis.bias_grad_not_summed.space": "grads['bias'] is summed over the batch but not over the spatial "
                                                "positions.",
        "diagnosis.weight_grad_transposed": "grads['weight'] is transposed: it must have the weight's layout "
                                            "(out_channels, in_channels/groups, *kernel_size).",
        "diagnosis.parameter_not_registered": "`load_state_dict` does not know the parameter {name}: it was assigned "
                                              "as `self.{attr} = ...` instead of `self.register_parameter({name}, "
                                              "...)`. Only registered parameters are in the state dict, receive "
                                              "gradients and can be loaded.",
    },
    "ru": {
        "diagnosis.what.output": "Ваш выход",
        "diagnosis.what.input": "Ваш градиент по входу",
        "diagnosis.what.param": "Ваш градиент grads[{part}]",
        "diagnosis.verb.counted": "учитываются",
        "diagnosis.verb.not_counted": "не учитываются",
        "diagnosis.heatmap_title": "абсолютная ошибка на примере 0, по каналам",
        "diagnosis.flipped_kernel": "{What} совпадает со *свёрткой* с перевёрнутым ядром. Этот слой вычисляет "
                                    "взаимную корреляцию (как torch): сдвигайте ядро по входу, не переворачивая его.",
        "diagnosis.zero_padding_instead": "{What} верен внутри, но на краях совпадает с дополнением *нулями*; в этом "
                                          "случае `padding_mode={mode}`.",
        "diagnosis.padding_ignored": "{What} совпадает со слоем *без паддинга*: дополните вход на `padding` с каждой "
                                     "стороны, прежде чем сдвигать окно.",
        "diagnosis.padding_too_small": "{What} совпадает с паддингом 1, а в этом случае `padding={padding}`: дополните "
                                       "вход на `padding` с каждой стороны (каждая единица паддинга увеличивает выход "
                                       "на 2).",
        "diagnosis.stride_ignored": "{What} совпадает с шагом 1: окно должно сдвигаться на `stride` позиций (размер "
                                    "выхода floor((W - F + 2P) / S) + 1).",
        "diagnosis.stride_ignored.pool": "{What} совпадает с шагом 1: окна пулинга сдвигаются на `stride` (по "
                                         "умолчанию — на размер ядра).",
        "diagnosis.dilation_ignored": "{What} совпадает с dilation 1: при прореживании d элементы ядра отстоят друг от "
                                      "друга на d пикселей (эффективный размер ядра d·(F-1)+1).",
        "diagnosis.bias_missing": "{What} совпадает со слоем без смещения: прибавьте `bias[c]` к каждой позиции "
                                  "выходного канала c.",
        "diagnosis.count_include_pad_swapped": "{What}: средние на краях делятся не на то число элементов; при "
                                               "`count_include_pad={flag}` нули паддинга {verb}.",
        "diagnosis.output_padding_ignored": "{What}: не хватает дополнительных строк/столбцов `output_padding` снизу и "
                                            "справа.",
        "diagnosis.dilation_ignored.taps": "Размер вашего выхода верный, но он совпадает с ядром, элементы которого "
                                           "стоят *вплотную*: при прореживании d они отстоят на d пикселей (x[.., "
                                           "y·S + u·d, x·S + v·d]); размер выхода у вас уже учитывает d, а окно — нет.",
        "diagnosis.flipped_kernel.weight": "Ваш градиент по весам перевёрнут по пространственным осям: dW[o, i, u, v] "
                                           "= Σ grad_out[n, o, y, x] · x_padded[n, i, y·S + u·D, x·S + v·D] — без "
                                           "переворота.",
        "diagnosis.max_grad_to_every_element": "Ваш градиент max-пулинга передаётся каждому элементу окна; входящий "
                                               "градиент получает только позиция максимума (argmax).",
        "diagnosis.bn_running_stats_in_training": "В режиме обучения батч-нормализация нормирует по статистикам "
                                                  "*текущего батча*; ваш выход совпадает с нормировкой по "
                                                  "`running_mean`/`running_var` (это режим eval).",
        "diagnosis.bn_batch_stats_in_eval": "В режиме eval батч-нормализация нормирует по "
                                            "`running_mean`/`running_var`; ваш выход совпадает с нормировкой по "
                                            "статистикам текущего батча (режим обучения). Проверьте `self.training`.",
        "diagnosis.bn_unbiased_variance": "Ваш выход нормирован по *несмещённой* дисперсии батча (делённой на M-1). "
                                          "Нормировка использует смещённую дисперсию (делённую на M = N·H·W); "
                                          "несмещённой обновляется только скользящая дисперсия.",
        "diagnosis.bn_backward_constant_stats": "Ваш градиент по входу считает среднее и дисперсию батча константами "
                                                "(dx = γ·g/σ). При обучении они зависят от x: dx = γ/(M·σ) · (M·g − Σg "
                                                "− x̂·Σ(g·x̂)).",
        "diagnosis.bn_running_var_biased": "Ваша скользящая дисперсия обновляется *смещённой* дисперсией батча; torch "
                                           "обновляет её несмещённой (var · M/(M−1)), а нормирует смещённой.",
        "diagnosis.bn_running_not_updated": "Ваши скользящие статистики не изменились за прямые проходы в режиме "
                                            "обучения: обновляйте `self.running_mean` и `self.running_var` "
                                            "(присваивайте атрибутам, а не локальным переменным) при каждом прямом "
                                            "проходе в режиме обучения.",
        "diagnosis.bn_momentum_swapped": "Ваши скользящие статистики используют momentum наоборот: torch вычисляет "
                                         "running = (1 − momentum)·running + momentum·batch (momentum — вес *нового* "
                                         "батча).",
        "diagnosis.bn_momentum_none_ignored": "При `momentum=None` скользящие статистики — накопленное среднее: "
                                              "множитель равен 1/num_batches_tracked (после его увеличения), а не "
                                              "фиксированному momentum 0.1.",
        "diagnosis.dropout_not_rescaled": "Ваш выход — x·mask без масштабирования: inverted dropout при обучении "
                                          "делит оставленные элементы на вероятность сохранения 1−p, чтобы в режиме "
                                          "eval ничего не менять.",
        "diagnosis.dropout_scaled_by_p": "Оставленные элементы у вас делятся на p; делите на вероятность сохранения "
                                         "1−p.",
        "diagnosis.dropout_multiplied_by_keep_prob": "Оставленные элементы у вас умножаются на 1−p (старое, "
                                                     "не-inverted масштабирование при тестировании); при обучении "
                                                     "inverted dropout делит их на 1−p.",
        "diagnosis.dropout_not_rescaled.input": "Ваш градиент по входу — grad_out·mask без множителя 1/(1−p): "
                                                "обратный проход умножает ровно на то, на что прямой проход умножил x.",
        "diagnosis.dropout_p1_divides_by_zero": "При p = 1 отбрасываются все элементы, и масштабирование 1/(1 − p) "
                                                "делит на ноль. Обработайте p = 1 отдельно: выход (и градиент) — все "
                                                "нули, как в torch.",
        "diagnosis.dice_global": "Ваша функция потерь Dice — одно отношение на весь батч; считайте Dice для каждой "
                                 "пары (пример, канал) — суммы только по пространственным осям — и усредняйте 1 − "
                                 "Dice по примерам и каналам.",
        "diagnosis.dice_per_sample": "Ваша функция потерь Dice суммирует и по каналам (одно отношение на пример); "
                                     "считайте её для каждой пары (пример, канал).",
        "diagnosis.dice_eps_missing": "В вашей функции потерь Dice нет сглаживающего слагаемого `eps` (добавьте его и "
                                      "в числитель 2·Σpt, и в знаменатель Σp + Σt).",
        "diagnosis.loss_sum_instead_of_mean": "Ваша функция потерь суммируется по элементам; `reduction='mean'` делит "
                                              "на их число.",
        "diagnosis.ce_grad_not_divided_by_batch": "Ваш градиент кросс-энтропии в N раз больше нужного: функция потерь "
                                                  "— *среднее* по N примерам, поэтому d loss / d logits = (softmax(x) "
                                                  "− onehot(y)) / N. Делите на размер батча и в обратном проходе.",
        "diagnosis.mse_grad_missing_factor_2": "В вашем градиенте MSE нет множителя 2: d/dx (x − t)² = 2(x − t).",
        "diagnosis.loss_grad_sign": "У вашего градиента функции потерь неверный знак.",
        "diagnosis.align_corners_swapped": "Ваша билинейная интерполяция совпадает с другим соглашением "
                                           "`align_corners`. При align_corners=False (по умолчанию) центры пикселей "
                                           "находятся в i + 0.5: src = (dst + 0.5)/scale − 0.5; при True совпадают "
                                           "угловые пиксели: src = dst·(in − 1)/(out − 1).",
        "diagnosis.upsample_grad_not_accumulated": "Ваш градиент апсемплинга сохраняет только один из выходных "
                                                   "градиентов, приходящих в каждый входной пиксель (присваивание по "
                                                   "индексам `dx[..., i, j] = g` перезаписывает повторяющиеся "
                                                   "индексы). Вклад даёт каждый выход, скопированный из пикселя: "
                                                   "накапливайте через `np.add.at` или суммируйте по копиям.",
        "diagnosis.avg_grad_not_divided": "Ваш градиент average-пулинга не делится на размер окна: каждый вход окна "
                                          "получает grad_out / (площадь ядра).",
        "diagnosis.ceil_mode_ignored": "Ваш выход совпадает с `ceil_mode=False`: при ceil_mode=True размер выхода "
                                       "округляется вверх, и последнее неполное окно, начинающееся внутри входа, "
                                       "сохраняется.",
        "diagnosis.padding_ignored.transposed": "Ваш выход совпадает с `padding=0`: в транспонированной свёртке "
                                                "`padding` обрезает `padding` строк/столбцов с каждой стороны полного "
                                                "выхода: H_out = (H − 1)·S − 2P + D·(K − 1) + output_padding + 1.",
        "diagnosis.relu_grad_negative": "Ваш градиент ReLU неверен там, где x < 0: он пропускает туда входящий "
                                        "градиент. ReLU'(x) = 1 при x > 0 и 0 при x ≤ 0, поэтому dx = grad_out · (x > "
                                        "0).",
        "diagnosis.relu_grad_negative.sign": "Ваш градиент ReLU неверен там, где x < 0: он совпадает с dx = grad_out · "
                                             "sign(x) (там −1). ReLU'(x) = 1 при x > 0 и 0 при x ≤ 0, поэтому dx = "
                                             "grad_out · (x > 0).",
        "diagnosis.leaky_relu_branches_swapped": "Ваш Leaky ReLU умножает на `negative_slope` *положительные* входы, а "
                                                 "отрицательные пропускает без изменений: должно быть x при x > 0 и "
                                                 "negative_slope·x при x ≤ 0.",
        "diagnosis.leaky_relu_branches_swapped.input": "Ваш градиент Leaky ReLU применяет `negative_slope` к "
                                                       "положительным входам: производная равна 1 при x > 0 и "
                                                       "negative_slope при x ≤ 0.",
        "diagnosis.leaky_relu_grad_zero_negative": "Ваш градиент Leaky ReLU равен 0 при x ≤ 0 (это градиент ReLU): там "
                                                   "производная равна negative_slope.",
        "diagnosis.elu_grad_missing_alpha": "В вашем градиенте ELU при x ≤ 0 нет множителя alpha: d/dx α(eˣ − 1) = "
                                            "α·eˣ.",
        "diagnosis.sigmoid_grad_missing_factor": "Ваш градиент сигмоиды — grad_out · σ(x), а производная равна "
                                                 "σ(x)·(1 − σ(x)).",
        "diagnosis.tanh_grad_uses_input": "Ваш градиент tanh — grad_out · (1 − x²) со *входом* x, а производная равна "
                                          "1 − tanh²(x) и вычисляется по выходу t = tanh(x).",
        "diagnosis.softsign_grad_not_squared": "Ваш градиент softsign — grad_out / (1 + |x|), а производная равна 1 / "
                                               "(1 + |x|)².",
        "diagnosis.softplus_overflow": "Ваш softplus переполняется: log(1 + exp(βx)), посчитанный в лоб, равен inf, "
                                       "как только βx превышает ~709. Выше `threshold` softplus равен самому x (torch "
                                       "переключается там на тождественную функцию); ниже используйте устойчивую "
                                       "форму, например np.logaddexp(0, βx) / β.",
        "diagnosis.ce_log_of_softmax": "Ваша функция потерь бесконечна при больших логитах: берётся логарифм "
                                       "вероятности, обнулившейся из-за потери точности (log 0 = −inf), или "
                                       "переполнившейся экспоненты. Вычитание максимума спасает от переполнения, но не "
                                       "от обнуления: вычисляйте логарифмы вероятностей сразу через log-sum-exp, log "
                                       "softmax(x)ₖ = (xₖ − m) − log Σⱼ exp(xⱼ − m), где m — максимум строки, и "
                                       "никогда не берите логарифм от softmax.",
        "diagnosis.softmax_overflow": "Ваш softmax переполняется при больших логитах: exp(x) равен inf при x больше ≈ "
                                      "709, а inf/inf — это NaN. Вычтите максимум каждой строки перед "
                                      "экспоненцированием — softmax(x) = softmax(x − max(x)), и тогда наибольшая "
                                      "экспонента равна exp(0) = 1 (для log-softmax и кросс-энтропии: log-sum-exp с "
                                      "вынесенным максимумом).",
        "diagnosis.maxout_pieces_grouping": "Ваш Maxout группирует части неправильно: нейрон j берёт максимум по "
                                            "подряд идущим строкам j·pieces … j·pieces + pieces − 1 из x Wᵀ + b, то "
                                            "есть сделайте reshape к (N, out_features, pieces) и возьмите максимум по "
                                            "последней оси.",
        "diagnosis.divided_by_batch": "{What} равен правильному, делённому на размер батча N={n}: обратный проход "
                                      "слоя суммирует по батчу; усредняет только функция потерь.",
        "diagnosis.multiplied_by_batch": "{What} равен правильному, умноженному на размер батча N={n}.",
        "diagnosis.border_only": "{What} верен внутри и неверен только у краёв: проверьте паддинг (его размер и режим) "
                                 "и окна, которые касаются края.",
        "diagnosis.gradient_all_zero": "{What} состоит из одних нулей: массив создан, но в него ничего не накоплено "
                                       "(нет цикла или `+=`, который его заполняет, или запись идёт в копию?).",
        "diagnosis.empty_gradient": "{What} пуст (форма {shape}).",
        "diagnosis.empty_output": "{What} пуст (форма {shape}).",
        "diagnosis.empty.padding_zero_slice": "В этом случае паддинг равен 0, а срез `p:-p` при p = 0 — это `0:0`, "
                                              "пустой: чтобы отрезать паддинг, используйте `p:H + p` (или `p:p + H`).",
        "diagnosis.extra_axis": "{What} имеет форму {shape}, а ожидалась {expected}: те же значения с лишней или "
                                "недостающей осью длины 1 (keepdims=True или reshape в строку).",
        "diagnosis.bias_grad_not_summed": "grads['bias'] имеет форму входящего градиента: просуммируйте его по батчу и "
                                          "по всем пространственным позициям (одно значение на канал).",
        "diagnosis.bias_grad_not_summed.batch": "grads['bias'] просуммирован по пространству, но не по батчу: "
                                                "просуммируйте и по оси 0.",
        "diagnosis.bias_grad_not_summed.space": "grads['bias'] просуммирован по батчу, но не по пространственным "
                                                "позициям.",
        "diagnosis.weight_grad_transposed": "grads['weight'] транспонирован: у него должна быть раскладка весов "
                                            "(out_channels, in_channels/groups, *kernel_size).",
        "diagnosis.parameter_not_registered": "`load_state_dict` не знает параметра {name}: он присвоен как "
                                              "`self.{attr} = ...`, а не зарегистрирован через "
                                              "`self.register_parameter({name}, ...)`. Только зарегистрированные "
                                              "параметры попадают в state dict, получают градиенты и загружаются.",
    },
}

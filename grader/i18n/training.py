"""Messages of the training checks (grader/checks/milestone.py: milestones, initial loss,
overfitting a batch, the loss falling, budgets, devices, curves) and of the dropout checks
(grader/checks/stochastic.py). Numbers arrive formatted; code and identifiers stay in backticks."""

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        # --- shared pieces
        "training.not_scored": "Not scored: {problem}.",
        "training.row_beats": "{name}: beats {label}",
        "training.compare_default_label": "the comparison",
        "training.row_batch": "{name}: predictions do not depend on the batch",
        "training.batch": "{n} of the held-out images predicted again, mixed among {fillers} noise images: "
                          "{same} of them got the same label as before (need {need}).",
        "training.batch_hint": "Your predictions depend on the other images in the batch: call `model.eval()` "
                               "before predicting (batch normalization then uses its running statistics, and "
                               "dropout is off).",
        # --- data and device
        "training.gpu_dataset_missing": "{gpu_dataset} is not available on this machine ({error}); used {dataset}",
        "training.gpu_not_visible": "The grading machine has a GPU but the sandbox could not see it (the sandbox "
                                    "must be started with gpu=True). This is not your fault; your TA has been told.",
        # --- where a run failed
        "training.step_setup": "while the grader prepared the run (seeds, {framework} import)",
        "training.step_in": "in step `{step}`",
        "training.step_grader_eval": "when the grader evaluated your model",
        # --- the budget
        "training.timeout": "Your code did not finish within the budget: {budget} s for training on {device} plus "
                            "{grace} s of grace for building the model and predicting. The run was stopped and "
                            "scores zero (nothing was predicted in time). {advice}",
        "training.timeout_watch_budget": "Make `train` watch `budget_s` and stop before it runs out.",
        "training.timeout_faster": "Training must be faster (vectorize; fewer epochs).",
        "training.trained_on": "Trained on {device} (budget {budget} s); the run took {wall} s.",
        # --- predictions
        "training.pred_missing": "no predictions came back",
        "training.pred_unencodable": "your predictions could not be sent back ({why})",
        "training.pred_not_labels": "your predictions are not an array of labels",
        "training.pred_logits": "your predictions have shape {shape}: return one label per image, shape ({n},) "
                                "(did you return the logits? take `argmax(1)`)",
        "training.pred_shape": "your predictions have shape {shape}, expected ({n},): one label per image",
        "training.pred_not_integer": "your predictions hold non-integer values; return class indices",
        "training.unknown_type": "unknown type",
        # --- accuracy, bands, noise
        "training.band": "{threshold} for {fraction} of the points",
        "training.held_out_accuracy": "Held-out accuracy: {accuracy} on {n} images ({bands}).",
        "training.after_predicting": "(After predicting, {error}.)",
        "training.hint_chance": "That is about chance level: the network did not learn. Check the sign of the "
                                "update (w ← w − lr·grad), the learning rate, that predictions are the argmax over "
                                "classes (axis 1), and that every layer's backward feeds the next.",
        "training.hint_not_enough": "The network learns, but not enough: check the learning rate, the number of "
                                    "epochs, the weight initialisation and that the gradients are averaged over "
                                    "the batch.",
        "training.noise_note": "Note: your score is within noise of the threshold {thresholds} (one standard error "
                               "on {n} held-out images is {se}); a re-run with another seed could land on the "
                               "other side.",
        # --- comparison with a baseline
        "training.compare_not_run": "Not judged: the main run did not finish.",
        "training.compare_not_scored": "Not judged: the main predictions were not scored.",
        "training.compare": "Accuracy {accuracy} vs {baseline} for {label}{margin}: {verdict}",
        "training.compare_margin": " (must be higher by more than {margin})",
        "training.compare_better": "better, as expected.",
        "training.compare_not_better": "not better than {label}.",
        "training.compare_useless": "not credited: the main accuracy is below every band.",
        # --- the history (training curve)
        "training.history_missing": "`train` must return a history: a dict with a list under \"loss\"",
        "training.history_bad_loss": "the history's \"loss\" is not a non-empty list of numbers",
        "training.history_short": "The history holds {n} loss values; at least 4 are needed to see a trend "
                                  "(record one per epoch or per few steps).",
        # --- the grader's evaluation of the model
        "training.eval_failed": "the grader could not evaluate your model (build_model must return a "
                                "torch.nn.Module)",
        "training.no_params": "your model has no parameters: the logits must come from a network with trainable "
                              "layers",
        "training.params_not_finite": "your model's parameters are not finite numbers",
        "training.params_unread": "the grader could not read your model's parameters before training",
        "training.params_unchanged": "your model's parameters did not change during `train`: nothing was trained",
        "training.logits_shape": "your model's output has shape {shape}; expected ({n}, classes) logits",
        # --- initial loss
        "training.initial_shape": "The untrained model's output has shape {shape}; expected ({n}, {classes}) "
                                  "logits for {n} images and {classes} classes.",
        "training.initial_not_finite": "The untrained model's logits contain NaN or inf.",
        "training.initial_no_grad": "the logits do not depend on the model's parameters (their gradient is zero): "
                                    "they do not come from the network",
        "training.initial_constant": "the logits are the same for every image: they do not depend on the input",
        "training.initial_loss": "Cross-entropy of the untrained model on {n} training images (computed by the "
                                 "grader from your model's logits): {loss}; expected about log {classes} = "
                                 "{expected} (within {tolerance}).",
        "training.initial_confident": "The model is very confident before training: the last layer's initial "
                                      "weights or biases are too large.",
        "training.initial_raw_logits": "Check that the model outputs raw logits (no softmax inside) and that the "
                                       "last layer has one output per class.",
        # --- overfitting a small batch
        "training.overfit_by_grader": " (evaluated by the grader: your model's logits on the same images, "
                                      "shuffled, with a little noise)",
        "training.overfit": "After training on {n} images, accuracy on those same images{how}: {accuracy} "
                            "(need {need}).",
        "training.overfit_hint": "A network this size should memorize a small batch: if it cannot, the training "
                                 "loop is broken (learning rate, zero_grad/step order, labels, or the loss).",
        # --- the loss falls
        "training.loss_quarters": "Mean loss over the first quarter of training: {first}; over the last quarter: "
                                  "{last}",
        "training.loss_measured": "Cross-entropy of your model on {n} of the training images, computed by the "
                                  "grader: {first} before `train`, {last} after",
        "training.loss_must_fall": "{measured} (must fall by more than {drop}).",
        "training.loss_nan": "The loss became NaN/inf: the learning rate is probably far too large.",
        "training.loss_flat": "The loss does not fall: check the learning rate, that the optimizer steps, and that "
                              "gradients are zeroed each step.",
        # --- dropout (grader/checks/stochastic.py)
        "training.dropout_row_output": "{name} — output",
        "training.dropout_row_input": "{name} — input gradient (dx)",
        "training.dropout_row_seeded": "{name} — mask drawn from the given rng",
        "training.mask_missing": "`m.mask` after forward should be an array of shape {shape}, got {got}",
        "training.mask_shape": "`m.mask` has shape {shape}, expected {expected} (one entry per element)",
        "training.mask_not_finite": "`m.mask` contains non-finite values",
        "training.mask_values": "`m.mask` should hold 0/1 (or 0 and 1/(1-p) = {scale}); it holds values such as "
                                "{values}",
        "training.mask_unreadable": "{case}\n\n{reason}. The check reads your mask to know which elements you "
                                    "dropped.",
        "training.dropout_mask_not_reused": "Your backward drops a different set of elements than forward did: "
                                            "backward must reuse the mask saved in forward (`self.mask`), not draw "
                                            "a new one.",
        "training.dropout_seeded_ok": "{case} Two layers given the same seed drew the same mask.",
        "training.dropout_seeded_differ": "{case}\n\nTwo layers constructed with `rng=np.random.default_rng(seed)` "
                                          "for the same seed drew different masks. Draw the mask from the generator "
                                          "passed as `rng` (e.g. `self.rng.random(x.shape)`), not from `np.random`.",
        "training.dropout_rng_ignored": "Your mask is not drawn from the generator you were given: use `self.rng`, "
                                        "so that the same seed gives the same mask.",
        "training.dropout_in_eval_scaled": "In eval mode dropout must do nothing (return the input unchanged, and "
                                           "pass the gradient through unchanged); yours still drops elements and "
                                           "rescales the rest.",
        "training.dropout_in_eval": "In eval mode dropout must do nothing (return the input unchanged, and pass the "
                                    "gradient through unchanged); yours still drops elements.",
        "training.stats_intro": "`{target}(p, rng=...)` in training mode on an input of ones of shape {shape} "
                                "(tolerance {sigmas} standard deviations):",
        "training.stats_shape": "- p={p}: expected an output of shape {shape}, got {got}",
        "training.stats_not_finite": "- p={p}: the output contains NaN or inf",
        "training.stats_not_finite_p1": "- p={p}: the output contains NaN or inf (with p=1 every element is "
                                        "dropped: return zeros, do not divide by 1-p=0)",
        "training.stats_zeros": "{zeros} of the outputs are zero, expected {p} ± {band}",
        "training.stats_mean": "the mean output is {mean}, expected {want} ± {band}",
        "training.stats_mean_inverted": "the mean output is {mean}, expected {want} ± {band} (inverted dropout "
                                        "keeps the expected value)",
        "training.stats_kept": "kept elements of an input of ones are {values}, expected 1/(1-p) = {scale}",
        "training.stats_correct": "- p={p}: {zeros} zeros, mean {mean}: correct",
        "training.dropout_keep_prob_swapped": "You drop elements with probability 1-p: `p` is the probability of "
                                              "*dropping* an element (torch's convention), so keep where "
                                              "`rng.random(shape) >= p`.",
        "training.dropout_not_rescaled": "Kept elements are not rescaled: inverted dropout multiplies them by "
                                         "1/(1-p) in training so that eval needs no change.",
        "training.dropout_scaled_by_p": "Kept elements are divided by p; divide by the keep probability 1-p.",
    },
    "ru": {
        "training.not_scored": "Не оценено: {problem}.",
        "training.row_beats": "{name}: лучше, чем {label}",
        "training.compare_default_label": "базовый вариант",
        "training.row_batch": "{name}: предсказания не зависят от батча",
        "training.batch": "{n} изображений отложенной выборки предсказаны ещё раз вперемешку с {fillers} "
                          "изображениями-шумом: {same} из них получили ту же метку, что и раньше (нужно {need}).",
        "training.batch_hint": "Ваши предсказания зависят от остальных изображений в батче: вызовите "
                               "`model.eval()` перед предсказанием (тогда батч-нормализация использует накопленные "
                               "статистики, а Dropout отключён).",
        "training.gpu_dataset_missing": "набор {gpu_dataset} недоступен на этой машине ({error}); использован "
                                        "{dataset}",
        "training.gpu_not_visible": "На проверяющей машине есть GPU, но песочница его не видит (её нужно "
                                    "запускать с gpu=True). Это не ваша ошибка; преподаватель уже уведомлён.",
        "training.step_setup": "пока проверяющая система готовила запуск (зерна генераторов, импорт {framework})",
        "training.step_in": "на шаге `{step}`",
        "training.step_grader_eval": "когда проверяющая система вычисляла выход вашей модели",
        "training.timeout": "Ваш код не уложился в бюджет времени: {budget} с на обучение на {device} и ещё "
                            "{grace} с запаса на построение модели и предсказание. Запуск остановлен и оценён "
                            "нулём (за отведённое время не получено ни одного предсказания). {advice}",
        "training.timeout_watch_budget": "Пусть `train` следит за `budget_s` и останавливается до того, как время "
                                         "выйдет.",
        "training.timeout_faster": "Обучение должно идти быстрее (векторизуйте вычисления; уменьшите число эпох).",
        "training.trained_on": "Обучение на {device} (бюджет {budget} с); запуск занял {wall} с.",
        "training.pred_missing": "предсказания не вернулись",
        "training.pred_unencodable": "ваши предсказания не удалось передать обратно ({why})",
        "training.pred_not_labels": "ваши предсказания — не массив меток классов",
        "training.pred_logits": "ваши предсказания имеют форму {shape}: верните по одной метке на изображение, "
                                "форма ({n},) (вы вернули логиты? возьмите `argmax(1)`)",
        "training.pred_shape": "ваши предсказания имеют форму {shape}, ожидалась ({n},): по одной метке на "
                               "изображение",
        "training.pred_not_integer": "в ваших предсказаниях есть нецелые значения; верните номера классов",
        "training.unknown_type": "неизвестный тип",
        "training.band": "от {threshold}: {fraction} баллов",
        "training.held_out_accuracy": "Точность на отложенной выборке: {accuracy} на {n} изображениях ({bands}).",
        "training.after_predicting": "(После предсказания {error}.)",
        "training.hint_chance": "Это примерно уровень случайного угадывания: сеть не обучилась. Проверьте знак "
                                "обновления (w ← w − lr·grad), скорость обучения, что предсказание — это argmax по "
                                "классам (ось 1) и что обратный проход каждого слоя передаёт градиент следующему.",
        "training.hint_not_enough": "Сеть обучается, но недостаточно: проверьте скорость обучения, число эпох, "
                                    "инициализацию весов и что градиенты усредняются по батчу.",
        "training.noise_note": "Примечание: ваш результат в пределах шума от порога {thresholds} (стандартная "
                               "ошибка на {n} изображениях отложенной выборки — {se}); при повторном запуске с "
                               "другим зерном он может оказаться по другую сторону порога.",
        "training.compare_not_run": "Не оценено: основной запуск не завершился.",
        "training.compare_not_scored": "Не оценено: основные предсказания не были оценены.",
        "training.compare": "Точность {accuracy} против {baseline} для варианта «{label}»{margin}: {verdict}",
        "training.compare_margin": " (должна быть выше более чем на {margin})",
        "training.compare_better": "лучше, как и ожидалось.",
        "training.compare_not_better": "не лучше, чем «{label}».",
        "training.compare_useless": "не засчитано: основная точность ниже всех порогов.",
        "training.history_missing": "`train` должна возвращать историю обучения: словарь со списком под "
                                    "ключом \"loss\"",
        "training.history_bad_loss": "\"loss\" в истории обучения — не непустой список чисел",
        "training.history_short": "В истории обучения {n} значений функции потерь; чтобы увидеть тенденцию, нужно "
                                  "хотя бы 4 (записывайте одно значение за эпоху или раз в несколько шагов).",
        "training.eval_failed": "проверяющей системе не удалось вычислить выход вашей модели (build_model должна "
                                "возвращать torch.nn.Module)",
        "training.no_params": "у вашей модели нет параметров: логиты должны выдавать слои сети с обучаемыми "
                              "параметрами",
        "training.params_not_finite": "параметры вашей модели — не конечные числа",
        "training.params_unread": "проверяющей системе не удалось прочитать параметры вашей модели до обучения",
        "training.params_unchanged": "параметры вашей модели не изменились за время `train`: ничего не обучилось",
        "training.logits_shape": "выход вашей модели имеет форму {shape}; ожидались логиты формы ({n}, число "
                                 "классов)",
        "training.initial_shape": "Выход необученной модели имеет форму {shape}; ожидались логиты формы ({n}, "
                                  "{classes}): {n} изображений и {classes} классов.",
        "training.initial_not_finite": "В логитах необученной модели есть NaN или inf.",
        "training.initial_no_grad": "логиты не зависят от параметров модели (их градиент равен нулю): их выдаёт "
                                    "не сеть",
        "training.initial_constant": "логиты одинаковы для всех изображений: они не зависят от входа",
        "training.initial_loss": "Кросс-энтропия необученной модели на {n} обучающих изображениях (вычислена "
                                 "проверяющей системой по логитам вашей модели): {loss}; ожидалось около log "
                                 "{classes} = {expected} (с точностью {tolerance}).",
        "training.initial_confident": "Модель слишком уверена в себе ещё до обучения: начальные веса или смещения "
                                      "последнего слоя слишком велики.",
        "training.initial_raw_logits": "Проверьте, что модель выдаёт «сырые» логиты (без softmax внутри) и что у "
                                       "последнего слоя по одному выходу на класс.",
        "training.overfit_by_grader": " (по оценке проверяющей системы: логиты вашей модели на тех же "
                                      "изображениях, перемешанных и с небольшим шумом)",
        "training.overfit": "После обучения на {n} изображениях точность на этих же изображениях{how}: {accuracy} "
                            "(нужно {need}).",
        "training.overfit_hint": "Сеть такого размера должна запомнить небольшой батч: если не может, цикл обучения "
                                 "сломан (скорость обучения, порядок zero_grad/step, метки или функция потерь).",
        "training.loss_quarters": "Средняя функция потерь за первую четверть обучения: {first}; за последнюю "
                                  "четверть: {last}",
        "training.loss_measured": "Кросс-энтропия вашей модели на {n} обучающих изображениях, вычисленная "
                                  "проверяющей системой: {first} до `train`, {last} после",
        "training.loss_must_fall": "{measured} (должна упасть более чем на {drop}).",
        "training.loss_nan": "Функция потерь стала NaN/inf: скорее всего, скорость обучения слишком велика.",
        "training.loss_flat": "Функция потерь не убывает: проверьте скорость обучения, что оптимизатор делает шаг "
                              "и что градиенты обнуляются на каждом шаге.",
        "training.dropout_row_output": "{name} — выход",
        "training.dropout_row_input": "{name} — градиент по входу (dx)",
        "training.dropout_row_seeded": "{name} — маска из переданного rng",
        "training.mask_missing": "`m.mask` после прямого прохода должна быть массивом формы {shape}, получено "
                                 "{got}",
        "training.mask_shape": "`m.mask` имеет форму {shape}, ожидалась {expected} (по элементу маски на элемент "
                               "входа)",
        "training.mask_not_finite": "в `m.mask` есть не конечные значения",
        "training.mask_values": "`m.mask` должна содержать 0/1 (или 0 и 1/(1-p) = {scale}); в ней есть значения "
                                "вроде {values}",
        "training.mask_unreadable": "{case}\n\n{reason}. Проверка читает вашу маску, чтобы знать, какие элементы "
                                    "вы обнулили.",
        "training.dropout_mask_not_reused": "Ваш обратный проход обнуляет не те элементы, что прямой: обратный "
                                            "проход должен использовать маску, сохранённую в прямом (`self.mask`), "
                                            "а не генерировать новую.",
        "training.dropout_seeded_ok": "{case} Два слоя с одинаковым зерном сгенерировали одинаковые маски.",
        "training.dropout_seeded_differ": "{case}\n\nДва слоя, созданные с `rng=np.random.default_rng(seed)` при "
                                          "одном и том же зерне, сгенерировали разные маски. Берите маску из "
                                          "генератора, переданного как `rng` (например, `self.rng.random(x.shape)`), "
                                          "а не из `np.random`.",
        "training.dropout_rng_ignored": "Ваша маска генерируется не тем генератором, который вам передали: "
                                        "используйте `self.rng`, чтобы одно и то же зерно давало одну и ту же маску.",
        "training.dropout_in_eval_scaled": "В режиме eval Dropout ничего не должен делать (вернуть вход без "
                                           "изменений и пропустить градиент без изменений); ваш по-прежнему "
                                           "обнуляет элементы и масштабирует остальные.",
        "training.dropout_in_eval": "В режиме eval Dropout ничего не должен делать (вернуть вход без изменений и "
                                    "пропустить градиент без изменений); ваш по-прежнему обнуляет элементы.",
        "training.stats_intro": "`{target}(p, rng=...)` в режиме обучения на входе из единиц формы {shape} "
                                "(допуск: {sigmas} × стандартное отклонение):",
        "training.stats_shape": "- p={p}: ожидался выход формы {shape}, получено {got}",
        "training.stats_not_finite": "- p={p}: в выходе есть NaN или inf",
        "training.stats_not_finite_p1": "- p={p}: в выходе есть NaN или inf (при p=1 обнуляются все элементы: "
                                        "верните нули, не делите на 1-p=0)",
        "training.stats_zeros": "нулей в выходе {zeros}, ожидалось {p} ± {band}",
        "training.stats_mean": "среднее значение выхода {mean}, ожидалось {want} ± {band}",
        "training.stats_mean_inverted": "среднее значение выхода {mean}, ожидалось {want} ± {band} (обратный "
                                        "Dropout сохраняет математическое ожидание)",
        "training.stats_kept": "сохранённые элементы входа из единиц равны {values}, ожидалось 1/(1-p) = {scale}",
        "training.stats_correct": "- p={p}: нулей {zeros}, среднее {mean}: верно",
        "training.dropout_keep_prob_swapped": "Вы обнуляете элементы с вероятностью 1-p, а `p` — вероятность "
                                              "*обнулить* элемент (как в torch), поэтому сохраняйте элементы, где "
                                              "`rng.random(shape) >= p`.",
        "training.dropout_not_rescaled": "Сохранённые элементы не масштабируются: обратный Dropout умножает их на "
                                         "1/(1-p) при обучении, чтобы в режиме eval ничего не менять.",
        "training.dropout_scaled_by_p": "Сохранённые элементы делятся на p; делить нужно на вероятность "
                                        "сохранения 1-p.",
    },
}

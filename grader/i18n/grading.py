"""What the grading code writes for a student: the judge's verdicts, the check kinds' rows, the
worker's failures, the results' summary and the notebook kit's messages.

Code, identifiers, numbers and shapes stay as they are (in backticks where they are code); the
``{what}`` of the judge's messages is a label of this section (``grading.what_*``) or code such
as ``grads['weight']``.
"""

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        # --- paragraph prefixes the report recognizes (grader.report.feedback) -------------------
        "grading.case_prefix": "Case:",
        "grading.likely_mistake_prefix": "**Likely mistake:**",
        "grading.note_prefix": "Note:",
        "grading.flagged_prefix": "Flagged:",
        # --- the judge (grader.judge) ------------------------------------------------------------
        "grading.what_output": "output",
        "grading.what_your_output": "your output",
        "grading.what_dx": "input gradient (dx)",
        "grading.what_loss": "loss value",
        "grading.what_eval_output": "eval-mode output",
        "grading.what_param_grad": "gradient of `{param}`",
        "grading.value_array": "an array of shape {shape}",
        "grading.value_object": "an object of type {type}",
        "grading.value_type": "a {type}",
        "grading.cmp_missing": "no {what} was returned (got None)",
        "grading.cmp_type": "{what} should be an array of shape {shape}, got {got}",
        "grading.cmp_shape": "{what} has shape {got}, expected {shape}{hint}",
        "grading.cmp_shape_hint": " (same number of elements: check your reshape/transpose)",
        "grading.cmp_nonfinite": "{what} contains {bad} non-finite value(s) ({kind})",
        "grading.cmp_value": "{what} differs: {n_wrong} of {n} values wrong, max abs error {err} "
                             "(relative {rel}, tolerance {tol})",
        # --- rows shared by the check kinds (grader.checks.base) ---------------------------------
        "grading.case": "Case: {text}.",
        "grading.hidden_case": "Hidden case: its inputs and expected values are not shown.",
        "grading.hidden_case_n": "hidden case {n}",
        "grading.timeout_import": "importing your module took longer than {limit} (the import deadline)",
        "grading.timeout_import_default": "its deadline",
        "grading.timeout_wall": "the time for all checks together{limit} was used up before this one finished",
        "grading.timeout_probe": "your code did not finish within this check's time limit{limit} (the probe "
                                 "deadline): an infinite loop, or far too slow",
        "grading.timeout_probe_limit": " of {limit}",
        "grading.timeout_other": "your code did not finish within the time limit (infinite loop, or far too slow)",
        "grading.seconds": "{s} s",
        "grading.worker_raised": "your code raised `{type}: {message}`",
        "grading.worker_crashed": "the worker running your code died ({message})",
        "grading.worker_crashed_default": "crashed",
        "grading.worker_flood": "your code printed too much output and was stopped",
        "grading.worker_not_started": "not run: your code crashed or timed out too many times in earlier checks",
        "grading.worker_protocol": "your code's process answered with malformed data (`{message}`)",
        "grading.worker_other": "check could not run ({status})",
        "grading.internal_error_check": "The grader failed on this check (internal error); your TA has been "
                                        "told. This is not your fault.",
        "grading.internal_error_part": "The grader failed on this part (internal error); your TA has been "
                                       "told. This is not your fault.",
        "grading.fix_forward_first": "Note: your forward output is also wrong for this case; gradients are "
                                     "judged against the correct forward, so fix forward first.",
        # --- layer cases (grader.checks.cases, composite, losses) --------------------------------
        "grading.describe_layer": "`{call}` on an input of shape {shape}{mode} ({dtype})",
        "grading.describe_eval_mode": ", in eval mode",
        "grading.describe_running": "`{call}` after {n} training forward(s) on batches of shape {shape}, "
                                    "starting from random running statistics",
        "grading.describe_then_eval": ", then a forward in eval mode",
        "grading.describe_model": "`{call}` ({chain}) on an input of shape {shape} ({dtype})",
        "grading.describe_loss": "`{call}` on an input of shape {shape} with {what} of shape {tshape} ({dtype})",
        "grading.loss_class_indices": "class indices",
        "grading.loss_targets": "targets",
        # --- layer check kinds (grader.checks.layers) --------------------------------------------
        "grading.correct_rel": "Correct (max relative error {rel}).",
        "grading.no_value": "No {label}: {why}.",
        "grading.largest_error": "Largest error at index {index}.",
        "grading.your_label": "Your {label}: {message}.",
        "grading.gc_not_evaluated": "Could not be evaluated: {why}.",
        "grading.gc_no_array": "your forward returned no array ({got})",
        "grading.gc_too_large": "your forward returned {size} values, more than this check can use",
        "grading.gc_shape_note": "(Your forward returns shape {got}, expected {want}: the forward checks cover "
                                 "that; this check only asks whether backward is the derivative of your forward.)",
        "grading.gc_direction": "dx along direction {j}",
        "grading.gc_problem": "{label}: could not be evaluated: {why}",
        "grading.gc_fd_missing": "your forward on the shifted input {which} returned {got}",
        "grading.gc_fd_missing_param": "your forward after loading the shifted `{param}` {which} returned {got}",
        "grading.gc_fd_shape": "your forward on a shifted input returned shape {got}, but on the unshifted "
                               "input shape {want}",
        "grading.gc_fd_nonfinite": "finite differences of your forward are not finite ({value})",
        "grading.gc_an_missing": "your backward gave {got} instead of an array of shape {want}",
        "grading.gc_an_nonfinite": "your backward's gradient is not finite ({value})",
        "grading.gc_failed_call": "(in `{call}`: {role})",
        "grading.gc_role_own": "the forward and backward for your own output's shape",
        "grading.gc_role_fd": "a forward on a shifted input or with shifted parameters, for the finite differences",
        "grading.gc_role_std": "the forward and backward with the case's upstream gradient",
        "grading.gc_mismatch": "{label}: your backward gives {an}, finite differences of your forward give {fd}",
        "grading.gc_ok": "Your backward agrees with finite differences of your own forward (worst relative "
                         "disagreement {worst}).",
        "grading.gc_wrong": "Your backward does not match your own forward, so the bug is in backward "
                            "(whatever forward computes):",
        "grading.gc_diagnosis": "backward is not the derivative of your forward",
        "grading.no_output": "no output",
        "grading.shape_correct": "- input {shape} → {want}: correct",
        "grading.shape_hidden_correct": "- hidden case {n}: correct",
        "grading.shape_wrong": "- input {shape}: expected output shape {want}, got {have}",
        "grading.shape_raised": "- input {shape}: expected output shape {want}, but {error}",
        "grading.shape_hidden_wrong": "- hidden case {n}: wrong output shape (yours: {have})",
        "grading.shape_hidden_raised": "- hidden case {n}: {error}",
        "grading.shape_head": "`{call}` output shapes",
        "grading.shape_head_hidden": "Output shapes on hidden inputs",
        "grading.shape_formula": "Output size per dimension: floor((W + 2P - D·(F-1) - 1) / S) + 1.",
        "grading.api_hidden_who": "`{target}` (hidden constructor arguments)",
        "grading.api_not_constructed": "{who} could not be constructed: {why}.",
        "grading.api_missing_attr": "- missing attribute `{attr}`",
        "grading.api_missing": "missing",
        "grading.api_param_shape": "- `{param}` should be an array of shape {shape} (torch's layout), got {have}",
        "grading.api_param_shape_hidden": "- `{param}` has the wrong shape for torch's layout (yours: {have})",
        "grading.api_ok": "{who}: constructor, attributes and parameter shapes are right.",
        # --- composite kinds (grader.checks.composite) -------------------------------------------
        "grading.running_forward_raised": "Your training forward #{k} raised, so the running statistics "
                                          "could not be judged: {why}.",
        "grading.model_gradient_lost": "The gradients of `{good}` are right but those of `{bad}` are not, and "
                                       "the forward output is right: the gradient is wrong on its way back between "
                                       "them{where}. Run each layer's backward in reverse order, feeding it the "
                                       "gradient returned by the layer after it.",
        "grading.model_gradient_through": " (through {names})",
        # --- large inputs (grader.checks.large_inputs) -------------------------------------------
        "grading.nonfinite_your_output": "Your output",
        "grading.nonfinite_your_dx": "Your input gradient",
        "grading.nonfinite_your_grad": "Your grads[{param}]",
        "grading.nonfinite_large_input": "{what} contains NaN/inf although the correct values are finite: with "
                                         "inputs this large some intermediate overflows (exp of a large number is "
                                         "inf in float64). Rewrite the formula so that nothing large is "
                                         "exponentiated.",
        # --- functions and answers (grader.checks.functions) -------------------------------------
        "grading.fn_float_for_int": "returned a float; a size or count is an int (use `//`)",
        "grading.fn_no_result": "- {call}: no result — {why}",
        "grading.fn_correct": "- {call}: correct",
        "grading.fn_correct_note": "- {call}: correct ({note})",
        "grading.fn_expected": "- {call}: expected {want}, got {got}",
        "grading.fn_wrong": "- {call}: wrong answer",
        "grading.fn_wrong_hint": "- {call}: wrong answer ({hint})",
        "grading.fn_returned_none": "your function returned None: a missing `return`?",
        "grading.fn_returned_object": "your function returned an object of type {type}",
        "grading.fn_whole_number": "a size or count is a whole number: check the rounding, `//`",
        "grading.fn_wrong_form": "expected {form}, yours is {got}",
        "grading.form_bool": "True or False (a bool)",
        "grading.form_int": "a whole number (an int)",
        "grading.form_float": "one number (a float)",
        "grading.form_str": "a string",
        "grading.form_tuple": "a tuple of {n} values ({items})",
        "grading.form_item_tuple": "a tuple of {n}",
        "grading.form_item_array": "an array of shape {shape}",
        "grading.form_item_object": "an object of type {type}",
        "grading.form_array": "an array of shape {shape}",
        "grading.form_object": "an object of type {type}",
        "grading.value_no_answer": "`{target}`: no answer ({why}).",
        "grading.value_not_defined": "the variable is not defined",
        "grading.value_correct": "`{target}` is correct.",
        "grading.value_correct_note": "`{target}` is correct. Note: {note}.",
        "grading.value_wrong": "`{target}` = {got} is not right.",
        "grading.value_ellipsis": "`{target}` is still `...`: write your answer.",
        "grading.value_form": "The answer is {form}.",
        "grading.value_form_differs": "The answer is {form}; yours is {got}.",
        # --- quiz (grader.checks.quiz) -----------------------------------------------------------
        "grading.quiz_no_answer": "No answer in `{target}`: {why}.",
        "grading.quiz_formula": "The formula: {formula}.",
        "grading.quiz_form": "The answer is {form}.",
        "grading.quiz_form_int": "a whole number (an int, or a string like \"1 234\")",
        "grading.quiz_form_shape": "a shape of {n} whole numbers (a tuple, a list or a string like \"8x16x16\")",
        "grading.quiz_form_tuple": "{n} whole numbers (a tuple or a list)",
        "grading.quiz_form_ratio": "a fraction (a string \"p/q\", or a decimal number)",
        "grading.quiz_form_choice": "the letter of one choice ({letters})",
        # --- SGD step (grader.checks.optim_step) -------------------------------------------------
        "grading.sgd_case": "{what} on [{layers}], {n} update(s) with fresh gradients",
        "grading.sgd_not_read": "- {param}: not read back ({why})",
        "grading.sgd_ok": "{case}: every parameter is right.",
        "grading.sgd_sign_flipped": "Your update moves *up* the gradient (w + η·∇Q). Gradient descent steps "
                                    "against it: w ← w − η·∇Q(w).",
        "grading.sgd_lr_ignored": "Your update ignores the learning rate (w − ∇Q): multiply the gradient by `lr`.",
        "grading.sgd_no_update": "No parameter changed: update the layer's arrays (in place, "
                                 "`param -= lr * grad`, or by assigning the new array to the attribute).",
        "grading.sgd_only_last_update": "Only the last update is applied: each call must start from the current "
                                        "parameters (the result of the previous updates).",
        # --- torch architectures (grader.checks.torch_models) ------------------------------------
        "grading.tm_mismatch": "parameter #{i} in registration order: the reference's `{want}` has shape "
                               "{wshape}, your `{got}` has {gshape}",
        "grading.tm_missing_param": "your model has {got} parameter tensors, the reference {want}: the first "
                                    "missing one is the reference's `{name}` of shape {shape}",
        "grading.tm_extra_param": "your model has {got} parameter tensors, the reference {want}: the first "
                                  "extra one is your `{name}` of shape {shape}",
        "grading.tm_hidden_who": "`{target}` (hidden case)",
        "grading.tm_no_answer": "{who}: no {what}: {why}.",
        "grading.tm_what_param_shapes": "parameter shapes (param_shapes(model) must return [[name, shape], ...])",
        "grading.tm_what_trace": "shape trace (the forward pass it runs failed)",
        "grading.tm_total_ok": "- total: {n} parameters, correct",
        "grading.tm_total_wrong": "- total: your model has {got} parameters, the architecture has {want} ({diff})",
        "grading.tm_shapes_ok": "- all {n} parameter tensors have the right shapes, in order",
        "grading.tm_per_module_ref": "- per module, reference: {counts}",
        "grading.tm_per_module_yours": "- per module, yours: {counts}",
        "grading.tm_none": "none",
        "grading.tm_params_head": "`{call}` parameters:",
        "grading.tm_shape_correct": "- input {shape} → {want}: correct",
        "grading.tm_shape_no_layer": "- input {shape}: the output has the expected shape {want}, but it does not "
                                     "come out of any layer of your model (no torch.nn conv, linear or pooling "
                                     "layer ran)",
        "grading.tm_shape_wrong": "- input {shape}: expected {want}, got {have}",
        "grading.tm_shape_raised": "- input {shape}: expected {want}, but {error}",
        "grading.tm_shapes_head": "`{call}` output shapes:",
        "grading.tm_trace_where": "`{call}` on input {shape}",
        "grading.tm_trace_hidden": "On a hidden input",
        "grading.tm_trace_count": "{where}: {right} of {n} layers (conv, linear, pooling) right.",
        "grading.tm_trace_first": "First difference at layer #{i}: expected a `{wtype}` with output {wshape}, "
                                  "your `{name}` is a `{gtype}` with output {gshape} — check its stride, padding "
                                  "and channels.",
        "grading.tm_trace_first_hidden": "First difference at layer #{i} (your `{name}`, a `{gtype}`) — check "
                                         "its stride, padding and channels.",
        "grading.tm_trace_length": "Your trace has {got} such layers, the architecture has {want}.",
        "grading.tm_trace_no_layers": "None of the layers that ran is a torch.nn conv, linear or pooling layer: "
                                      "build the model from torch.nn layers (subclasses count).",
        "grading.tm_mode_train": "training mode (batch statistics)",
        "grading.tm_mode_eval": "eval mode",
        "grading.tm_fwd_case": "`{call}` in {mode}, input {shape}, the grader's weights",
        "grading.tm_fwd_case_hidden": "In {mode}, on a hidden input with the grader's weights",
        "grading.tm_fwd_unloadable": "{case}: the weights cannot be loaded into your model: {problem}. Define the "
                                     "layers in the order the data flows through them, with the paper's shapes.",
        "grading.tm_fwd_no_output": "{case}: no output: {why}.",
        "grading.tm_fwd_ok": "{case}: same output as the reference (max relative error {rel}).",
        "grading.tm_fwd_wrong": ("{case}: {message}. The grader's weights fit your parameters, so the "
                                 "difference is in what forward computes with them: the order of the layers, an "
                                 "activation, padding or stride, the shortcut."),
        # --- one submission (grader.grade) -------------------------------------------------------
        "grading.not_graded": "Not graded: {reason}",
        "grading.not_graded_grader_fault": "Not graded: the grader could not finish (`{reason}`). This is not your "
                                           "fault; your TA has been told.",
        "grading.not_graded_entry": "Not graded: `{reason}`.",
        "grading.page_failed": "The feedback page could not be rendered ({error}); your score is {score} / {max_score}.",
        "grading.hang_skipped": "Not run: `{target}` did not finish in {n} earlier checks (an infinite loop, or "
                                "far too slow), so its remaining checks were skipped. Fix the hang and they run "
                                "again.",
        "grading.import_failed": "Your module failed to import: `{type}: {message}`{where}. Nothing was graded; "
                                 "code at the top level of a notebook runs on import — move demos into cells "
                                 "starting with `# convgrade: skip`.",
        "grading.import_timeout": "Not graded: {why}. Code at the top level of a notebook runs on import: keep "
                                  "training, plots and demos in cells starting with `# convgrade: skip` (the "
                                  "import deadline is the assignment's `[limits] import_timeout_s`).",
        "grading.import_other": "Your module could not be loaded: {why}.",
        # --- results.json summary (grader.results) -----------------------------------------------
        "grading.summary_late": "Submitted {days} days late: {pct} off (before the penalty: {raw}).",
        "grading.summary_note": "Note: {note}",
        "grading.summary_flagged": "Flagged: your code {finding}.",
        "grading.not_run_isolation": "the submission was not run",
        "grading.too_large": "This result was too large to keep in full; its bulky details were left out.",
        # --- the notebook kit (grader.kit) -------------------------------------------------------
        "grading.kit_pass": "PASS",
        "grading.kit_fail": "FAIL",
        "grading.kit_no_release": "no assignment.toml and checks.toml in {folder} or above: run the notebook "
                                  "inside the folder it was released in (convgrade release writes them beside "
                                  "the notebook)",
        "grading.kit_unknown_check": "no visible check {name} in {assignment} (known: {known})",
        "grading.kit_wrong_folder": "this folder holds assignment {here}, but the check belongs to {wanted}: run "
                                    "the notebook inside its own release folder",
        "grading.kit_run_all": "(`convgrade check` in this folder runs every visible check on the whole notebook.)",
        "grading.kit_timeout": "no answer within {s} s while running this check",
        "grading.kit_isolation": "the notebook's own kernel: public checks on public inputs",
    },
    "ru": {
        "grading.case_prefix": "Случай:",
        "grading.likely_mistake_prefix": "**Вероятная ошибка:**",
        "grading.note_prefix": "Примечание:",
        "grading.flagged_prefix": "Замечание:",
        "grading.what_output": "выход",
        "grading.what_your_output": "ваш выход",
        "grading.what_dx": "градиент по входу (dx)",
        "grading.what_loss": "значение функции потерь",
        "grading.what_eval_output": "выход в режиме eval",
        "grading.what_param_grad": "градиент по `{param}`",
        "grading.value_array": "массив формы {shape}",
        "grading.value_object": "объект типа {type}",
        "grading.value_type": "значение типа {type}",
        "grading.cmp_missing": "{what}: ничего не возвращено (получено None)",
        "grading.cmp_type": "{what}: ожидался массив формы {shape}, получено {got}",
        "grading.cmp_shape": "{what}: форма {got}, а ожидалась {shape}{hint}",
        "grading.cmp_shape_hint": " (число элементов совпадает: проверьте reshape/transpose)",
        "grading.cmp_nonfinite": "{what}: неконечных значений — {bad} ({kind})",
        "grading.cmp_value": "{what} отличается: неверно {n_wrong} из {n} значений, наибольшая абсолютная "
                             "ошибка {err} (относительная {rel}, допуск {tol})",
        "grading.case": "Случай: {text}.",
        "grading.hidden_case": "Скрытый случай: его входные данные и ожидаемые значения не показываются.",
        "grading.hidden_case_n": "скрытый случай {n}",
        "grading.timeout_import": "импорт вашего модуля занял больше, чем {limit} (срок на импорт)",
        "grading.timeout_import_default": "отведённое время",
        "grading.timeout_wall": "время на все проверки вместе{limit} закончилось раньше, чем завершилась эта",
        "grading.timeout_probe": "ваш код не уложился в срок этой проверки{limit}: бесконечный цикл или "
                                 "слишком медленный код",
        "grading.timeout_probe_limit": " ({limit})",
        "grading.timeout_other": "ваш код не завершился за отведённое время (бесконечный цикл или слишком "
                                 "медленный код)",
        "grading.seconds": "{s} с",
        "grading.worker_raised": "ваш код выбросил исключение `{type}: {message}`",
        "grading.worker_crashed": "процесс, выполнявший ваш код, аварийно завершился ({message})",
        "grading.worker_crashed_default": "сбой",
        "grading.worker_flood": "ваш код вывел слишком много текста и был остановлен",
        "grading.worker_not_started": "не запускалась: ваш код слишком много раз падал или превышал время "
                                      "в предыдущих проверках",
        "grading.worker_protocol": "процесс вашего кода ответил повреждёнными данными (`{message}`)",
        "grading.worker_other": "проверку не удалось запустить ({status})",
        "grading.internal_error_check": "Сбой проверяющей системы на этой проверке (внутренняя ошибка); "
                                        "ассистент уже знает об этом. Ваш код здесь ни при чём.",
        "grading.internal_error_part": "Сбой проверяющей системы на этой части проверки (внутренняя ошибка); "
                                       "ассистент уже знает об этом. Ваш код здесь ни при чём.",
        "grading.fix_forward_first": "Примечание: на этом случае выход вашего прямого прохода тоже неверен; "
                                     "градиенты сравниваются с правильным прямым проходом, поэтому сначала "
                                     "исправьте forward.",
        "grading.describe_layer": "`{call}` на входе формы {shape}{mode} ({dtype})",
        "grading.describe_eval_mode": ", в режиме eval",
        "grading.describe_running": "`{call}`: прямых проходов в режиме обучения — {n}, на батчах формы "
                                    "{shape}, начиная со случайных бегущих статистик",
        "grading.describe_then_eval": ", затем прямой проход в режиме eval",
        "grading.describe_model": "`{call}` ({chain}) на входе формы {shape} ({dtype})",
        "grading.describe_loss": "`{call}` на входе формы {shape} с {what} формы {tshape} ({dtype})",
        "grading.loss_class_indices": "номерами классов",
        "grading.loss_targets": "целевыми значениями",
        "grading.correct_rel": "Верно (наибольшая относительная ошибка {rel}).",
        "grading.no_value": "Нет значения ({label}): {why}.",
        "grading.largest_error": "Наибольшая ошибка в позиции {index}.",
        "grading.your_label": "Ваш ответ ({label}): {message}.",
        "grading.gc_not_evaluated": "Проверку не удалось выполнить: {why}.",
        "grading.gc_no_array": "ваш прямой проход не вернул массив ({got})",
        "grading.gc_too_large": "ваш прямой проход вернул {size} значений — больше, чем может обработать эта "
                                "проверка",
        "grading.gc_shape_note": "(Ваш прямой проход возвращает форму {got}, а ожидалась {want}: это проверяют "
                                 "проверки forward; здесь проверяется только, что backward — производная "
                                 "вашего forward.)",
        "grading.gc_direction": "dx вдоль направления {j}",
        "grading.gc_problem": "{label}: проверить не удалось: {why}",
        "grading.gc_fd_missing": "ваш прямой проход на сдвинутом входе {which} вернул {got}",
        "grading.gc_fd_missing_param": "ваш прямой проход после загрузки сдвинутого `{param}` {which} вернул {got}",
        "grading.gc_fd_shape": "ваш прямой проход на сдвинутом входе вернул форму {got}, а на исходном — {want}",
        "grading.gc_fd_nonfinite": "конечные разности вашего прямого прохода не конечны ({value})",
        "grading.gc_an_missing": "ваш обратный проход дал {got} вместо массива формы {want}",
        "grading.gc_an_nonfinite": "градиент вашего обратного прохода не конечен ({value})",
        "grading.gc_failed_call": "(в `{call}`: {role})",
        "grading.gc_role_own": "прямой и обратный проход для формы вашего собственного выхода",
        "grading.gc_role_fd": "прямой проход на сдвинутом входе или со сдвинутыми параметрами, для конечных "
                              "разностей",
        "grading.gc_role_std": "прямой и обратный проход с заданным градиентом выхода",
        "grading.gc_mismatch": "{label}: ваш backward даёт {an}, а конечные разности вашего forward — {fd}",
        "grading.gc_ok": "Ваш backward согласуется с конечными разностями вашего собственного forward "
                         "(наибольшее относительное расхождение {worst}).",
        "grading.gc_wrong": "Ваш backward не согласуется с вашим же forward, значит ошибка в backward (что бы "
                            "ни вычислял forward):",
        "grading.gc_diagnosis": "backward не является производной вашего forward",
        "grading.no_output": "нет выхода",
        "grading.shape_correct": "- вход {shape} → {want}: верно",
        "grading.shape_hidden_correct": "- скрытый случай {n}: верно",
        "grading.shape_wrong": "- вход {shape}: ожидалась форма выхода {want}, получено {have}",
        "grading.shape_raised": "- вход {shape}: ожидалась форма выхода {want}, но {error}",
        "grading.shape_hidden_wrong": "- скрытый случай {n}: неверная форма выхода (у вас: {have})",
        "grading.shape_hidden_raised": "- скрытый случай {n}: {error}",
        "grading.shape_head": "Формы выхода `{call}`",
        "grading.shape_head_hidden": "Формы выхода на скрытых входах",
        "grading.shape_formula": "Размер выхода по каждому измерению: floor((W + 2P - D·(F-1) - 1) / S) + 1.",
        "grading.api_hidden_who": "`{target}` (аргументы конструктора скрыты)",
        "grading.api_not_constructed": "{who}: не удалось создать объект: {why}.",
        "grading.api_missing_attr": "- нет атрибута `{attr}`",
        "grading.api_missing": "отсутствует",
        "grading.api_param_shape": "- `{param}` должен быть массивом формы {shape} (как в torch), получено {have}",
        "grading.api_param_shape_hidden": "- у `{param}` неверная форма для раскладки torch (у вас: {have})",
        "grading.api_ok": "{who}: конструктор, атрибуты и формы параметров верны.",
        "grading.running_forward_raised": "Ваш прямой проход в режиме обучения №{k} выбросил исключение, "
                                          "поэтому бегущие статистики проверить нельзя: {why}.",
        "grading.model_gradient_lost": "Градиенты `{good}` верны, а градиенты `{bad}` — нет, и выход прямого "
                                       "прохода верен: градиент искажается на обратном пути между ними{where}. "
                                       "Вызывайте backward каждого слоя в обратном порядке, передавая ему "
                                       "градиент, который вернул следующий за ним слой.",
        "grading.model_gradient_through": " (через {names})",
        "grading.nonfinite_your_output": "Ваш выход",
        "grading.nonfinite_your_dx": "Ваш градиент по входу",
        "grading.nonfinite_your_grad": "Ваш grads[{param}]",
        "grading.nonfinite_large_input": "{what} содержит NaN/inf, хотя правильные значения конечны: на таких "
                                         "больших входах какое-то промежуточное значение переполняется (exp от "
                                         "большого числа в float64 равен inf). Перепишите формулу так, чтобы "
                                         "большие числа не возводились в экспоненту.",
        "grading.fn_float_for_int": "возвращён float; размер или количество — это int (используйте `//`)",
        "grading.fn_no_result": "- {call}: нет результата — {why}",
        "grading.fn_correct": "- {call}: верно",
        "grading.fn_correct_note": "- {call}: верно ({note})",
        "grading.fn_expected": "- {call}: ожидалось {want}, получено {got}",
        "grading.fn_wrong": "- {call}: неверный ответ",
        "grading.fn_wrong_hint": "- {call}: неверный ответ ({hint})",
        "grading.fn_returned_none": "ваша функция вернула None: забыт `return`?",
        "grading.fn_returned_object": "ваша функция вернула объект типа {type}",
        "grading.fn_whole_number": "размер или количество — целое число: проверьте округление, `//`",
        "grading.fn_wrong_form": "ожидается {form}, а у вас {got}",
        "grading.form_bool": "True или False (bool)",
        "grading.form_int": "целое число (int)",
        "grading.form_float": "одно число (float)",
        "grading.form_str": "строка",
        "grading.form_tuple": "кортеж из {n} значений ({items})",
        "grading.form_item_tuple": "кортеж из {n}",
        "grading.form_item_array": "массив формы {shape}",
        "grading.form_item_object": "объект типа {type}",
        "grading.form_array": "массив формы {shape}",
        "grading.form_object": "объект типа {type}",
        "grading.value_no_answer": "`{target}`: нет ответа ({why}).",
        "grading.value_not_defined": "переменная не определена",
        "grading.value_correct": "`{target}`: верно.",
        "grading.value_correct_note": "`{target}`: верно. Примечание: {note}.",
        "grading.value_wrong": "`{target}` = {got} — неверно.",
        "grading.value_ellipsis": "В `{target}` всё ещё `...`: впишите свой ответ.",
        "grading.value_form": "Ответ — {form}.",
        "grading.value_form_differs": "Ответ — {form}, а у вас {got}.",
        "grading.quiz_no_answer": "Нет ответа в `{target}`: {why}.",
        "grading.quiz_formula": "Формула: {formula}.",
        "grading.quiz_form": "Ответ — {form}.",
        "grading.quiz_form_int": "целое число (int или строка вида \"1 234\")",
        "grading.quiz_form_shape": "форма из {n} целых чисел (кортеж, список или строка вида \"8x16x16\")",
        "grading.quiz_form_tuple": "кортеж или список из {n} целых чисел",
        "grading.quiz_form_ratio": "дробь (строка \"p/q\" или десятичное число)",
        "grading.quiz_form_choice": "буква одного из вариантов ({letters})",
        "grading.sgd_case": "{what} на [{layers}], обновлений со свежими градиентами: {n}",
        "grading.sgd_not_read": "- {param}: значение не прочитано ({why})",
        "grading.sgd_ok": "{case}: все параметры верны.",
        "grading.sgd_sign_flipped": "Ваше обновление идёт *вверх* по градиенту (w + η·∇Q). Градиентный спуск "
                                    "делает шаг против градиента: w ← w − η·∇Q(w).",
        "grading.sgd_lr_ignored": "Ваше обновление не учитывает темп обучения (w − ∇Q): умножьте градиент на `lr`.",
        "grading.sgd_no_update": "Ни один параметр не изменился: обновляйте массивы слоя (на месте, "
                                 "`param -= lr * grad`, или присваивая атрибуту новый массив).",
        "grading.sgd_only_last_update": "Применяется только последнее обновление: каждый вызов должен начинаться "
                                        "с текущих параметров (результата предыдущих обновлений).",
        "grading.tm_mismatch": "параметр №{i} в порядке регистрации: у эталона `{want}` формы {wshape}, у вас "
                               "`{got}` формы {gshape}",
        "grading.tm_missing_param": "в вашей модели тензоров параметров {got}, в эталоне {want}: первый "
                                    "недостающий — `{name}` эталона формы {shape}",
        "grading.tm_extra_param": "в вашей модели тензоров параметров {got}, в эталоне {want}: первый лишний — "
                                  "ваш `{name}` формы {shape}",
        "grading.tm_hidden_who": "`{target}` (скрытый случай)",
        "grading.tm_no_answer": "{who}: нет ответа ({what}): {why}.",
        "grading.tm_what_param_shapes": "формы параметров (param_shapes(model) должна вернуть [[имя, форма], ...])",
        "grading.tm_what_trace": "трасса форм (прямой проход для трассировки не удался)",
        "grading.tm_total_ok": "- всего параметров: {n}, верно",
        "grading.tm_total_wrong": "- всего параметров: у вас {got}, в архитектуре {want} ({diff})",
        "grading.tm_shapes_ok": "- тензоров параметров: {n}; у всех верные формы, порядок тоже верен",
        "grading.tm_per_module_ref": "- по модулям, эталон: {counts}",
        "grading.tm_per_module_yours": "- по модулям, у вас: {counts}",
        "grading.tm_none": "нет",
        "grading.tm_params_head": "Параметры `{call}`:",
        "grading.tm_shape_correct": "- вход {shape} → {want}: верно",
        "grading.tm_shape_no_layer": "- вход {shape}: у выхода ожидаемая форма {want}, но он получен не из слоёв "
                                     "вашей модели (не сработал ни один свёрточный, линейный слой или слой "
                                     "пулинга torch.nn)",
        "grading.tm_shape_wrong": "- вход {shape}: ожидалось {want}, получено {have}",
        "grading.tm_shape_raised": "- вход {shape}: ожидалось {want}, но {error}",
        "grading.tm_shapes_head": "Формы выхода `{call}`:",
        "grading.tm_trace_where": "`{call}` на входе {shape}",
        "grading.tm_trace_hidden": "На скрытом входе",
        "grading.tm_trace_count": "{where}: верны {right} из {n} слоёв (свёртки, линейные, пулинг).",
        "grading.tm_trace_first": "Первое расхождение в слое №{i}: ожидался `{wtype}` с выходом {wshape}, а ваш "
                                  "`{name}` — это `{gtype}` с выходом {gshape}; проверьте его шаг, паддинг и "
                                  "число каналов.",
        "grading.tm_trace_first_hidden": "Первое расхождение в слое №{i} (ваш `{name}`, `{gtype}`); проверьте его "
                                         "шаг, паддинг и число каналов.",
        "grading.tm_trace_length": "В вашей трассе таких слоёв {got}, в архитектуре {want}.",
        "grading.tm_trace_no_layers": "Ни один из сработавших слоёв не является свёрточным, линейным слоем или "
                                      "слоем пулинга torch.nn: соберите модель из слоёв torch.nn (подклассы "
                                      "тоже подходят).",
        "grading.tm_mode_train": "режиме обучения (статистики батча)",
        "grading.tm_mode_eval": "режиме eval",
        "grading.tm_fwd_case": "`{call}` в {mode}, вход {shape}, веса проверяющей системы",
        "grading.tm_fwd_case_hidden": "В {mode}, на скрытом входе с весами проверяющей системы",
        "grading.tm_fwd_unloadable": "{case}: веса нельзя загрузить в вашу модель: {problem}. Объявляйте слои в "
                                     "том порядке, в котором через них проходят данные, с формами из статьи.",
        "grading.tm_fwd_no_output": "{case}: нет выхода: {why}.",
        "grading.tm_fwd_ok": "{case}: выход совпадает с эталоном (наибольшая относительная ошибка {rel}).",
        "grading.tm_fwd_wrong": ("{case}: {message}. Веса проверяющей системы подошли к вашим параметрам, "
                                 "значит, различие в том, что forward с ними вычисляет: порядок слоёв, "
                                 "функция активации, padding или stride, shortcut."),
        "grading.not_graded": "Не проверено: {reason}",
        "grading.not_graded_grader_fault": "Не проверено: проверяющая программа не смогла закончить (`{reason}`). "
                                           "Это не ваша ошибка; преподаватель уже знает.",
        "grading.not_graded_entry": "Не проверено: `{reason}`.",
        "grading.page_failed": "Страницу с отзывом не удалось построить ({error}); ваш балл: {score} из {max_score}.",
        "grading.hang_skipped": "Не запускалось: `{target}` не завершился в {n} предыдущих проверках "
                                "(бесконечный цикл или слишком медленный код), поэтому остальные его проверки "
                                "пропущены. Исправьте зависание, и они снова будут выполняться.",
        "grading.import_failed": "Ваш модуль не импортируется: `{type}: {message}`{where}. Ничего не проверено; "
                                 "код на верхнем уровне ноутбука выполняется при импорте — перенесите "
                                 "демонстрации в ячейки, начинающиеся с `# convgrade: skip`.",
        "grading.import_timeout": "Не проверено: {why}. Код на верхнем уровне ноутбука выполняется при импорте: "
                                  "обучение, графики и демонстрации держите в ячейках, начинающихся с "
                                  "`# convgrade: skip` (срок на импорт задаётся в задании: "
                                  "`[limits] import_timeout_s`).",
        "grading.import_other": "Ваш модуль не удалось загрузить: {why}.",
        "grading.summary_late": "Сдано с опозданием на {days} дн.: штраф {pct} (до штрафа: {raw}).",
        "grading.summary_note": "Примечание: {note}",
        "grading.summary_flagged": "Замечание: ваш код {finding}.",
        "grading.not_run_isolation": "решение не запускалось",
        "grading.too_large": "Этот результат слишком велик, чтобы сохранить его целиком: объёмные подробности "
                             "опущены.",
        "grading.kit_pass": "ПРОЙДЕНО",
        "grading.kit_fail": "НЕ ПРОЙДЕНО",
        "grading.kit_no_release": "нет assignment.toml и checks.toml ни в {folder}, ни выше: запускайте ноутбук "
                                  "в папке, в которой он был выдан (convgrade release кладёт их рядом с "
                                  "ноутбуком)",
        "grading.kit_unknown_check": "в {assignment} нет открытой проверки {name} (есть: {known})",
        "grading.kit_wrong_folder": "в этой папке задание {here}, а проверка относится к {wanted}: запускайте "
                                    "ноутбук в его собственной папке",
        "grading.kit_run_all": "(`convgrade check` в этой папке запускает все открытые проверки на всём ноутбуке.)",
        "grading.kit_timeout": "нет ответа за {s} с во время этой проверки",
        "grading.kit_isolation": "собственное ядро ноутбука: открытые проверки на открытых входных данных",
    },
}

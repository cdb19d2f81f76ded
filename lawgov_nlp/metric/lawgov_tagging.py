"""lawgov_tagging: the lawgov-nlp metric as a Hugging Face ``evaluate`` module (loaded from this path,
offline): dimension and role macro-F1, accuracy, plan F1 and problem-flag precision/recall/F1.

    import evaluate
    metric = evaluate.load(lawgov_nlp.metrics.metric_path(), config_name="zh-2021")
    metric.compute(predictions=[["disputes", "achievement"], …], references=[["disputes", "achievement"], …])

Each prediction and reference is ``[dimension, role]`` (the problem flag of a prediction is its role
being the scheme's problem role). ``config_name`` is the label scheme (a shipped name or a file).
"""
import datasets
import evaluate

_DESCRIPTION = __doc__
_KWARGS = """
predictions: list of [dimension, role] pairs, as tagged.
references: list of [dimension, role] pairs, as annotated.
Returns: dimension_macro_f1, dimension_accuracy, role_macro_f1, role_accuracy, plan_f1, problem_precision,
problem_recall, problem_f1, mean_macro_f1, n.
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS)
class LawgovTagging(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation="", inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Sequence(datasets.Value("string")),
                                        "references": datasets.Sequence(datasets.Value("string"))}))

    def _compute(self, predictions, references):
        from lawgov_nlp.metrics import label_metrics
        from lawgov_nlp.scheme import load_scheme

        name = self.config_name if self.config_name not in (None, "", "default") else None
        scheme = load_scheme(name)
        m = label_metrics([r[0] for r in references], [r[1] for r in references], [p[0] for p in predictions],
                          [p[1] for p in predictions], [p[1] == scheme.problem_role for p in predictions], scheme)
        return {"dimension_macro_f1": m["dimension_macro_f1"], "dimension_accuracy": m["dimension"]["accuracy"],
                "role_macro_f1": m["role_macro_f1"], "role_accuracy": m["role"]["accuracy"], "plan_f1": m["plan_f1"],
                "problem_precision": m["problem"]["precision"], "problem_recall": m["problem"]["recall"],
                "problem_f1": m["problem_f1"], "mean_macro_f1": m["mean_macro_f1"], "n": m["dimension"]["n"]}

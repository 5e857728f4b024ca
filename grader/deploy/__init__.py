"""Deploy a course where it already grades: a Gradescope autograder zip (``gradescope``), a
PrairieLearn external grader (``prairielearn``), both built from the same pieces (``bundle``) and
grading through the same engine (``grading``)."""

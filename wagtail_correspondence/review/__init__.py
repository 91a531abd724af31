"""Four-eyes review of content: who may approve a change, and how content gets published.

Content under the review policy (fragments, layouts and the template library's pages) reaches
agents and customers only through the review workflow's final approval, and nobody approves a
change they contributed to. ``rules`` says who and when; ``permissions`` refuses direct
publishing in Wagtail's permission policy and page permission tester; ``editors`` adapts the
snippet and page editors; the task itself is ``models.review.FourEyesReviewTask``.
"""

// Submits the forms marked data-autosubmit once the page has loaded: the hand-over of an LTI
// launch to the tool. Served from /assets (the pages' Content-Security-Policy allows only our own
// scripts, never inline ones); without JavaScript the form's button does the same.
document.addEventListener('DOMContentLoaded', () => {
  for (const form of document.querySelectorAll('form[data-autosubmit]')) {
    form.submit();
  }
});

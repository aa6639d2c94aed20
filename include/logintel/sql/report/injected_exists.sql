-- Report: has the issue simulator injected anything (so detection can be measured)?
SELECT EXISTS (SELECT 1 FROM logintel.injected_issues) AS injected
